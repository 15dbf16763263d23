/**
 * The tile shader: one InstancedMesh per layer, instance i = one tile showing channel aTile.x of the
 * layer's sampler2DArray; the byte is dequantized with the channel's range (aTile.yz) and mapped
 * through a 256×1 colour LUT. With `uStrip` set it draws a vector layer instead: one instance, a bar per
 * value (aTile.x = N values, aTile.yz = the layer's range), the bytes in `uValues`. One program for both
 * keeps the scene at a handful of linked programs. GLSL ES 3.0 (three's GLSL3 ShaderMaterial prepends the built-in
 * uniforms and attributes: position, uv, instanceMatrix, projectionMatrix, modelViewMatrix).
 */

export const TILE_VERTEX = /* glsl */ `
in vec3 aTile;
out vec2 vUv;
flat out float vChannel;
flat out vec2 vRange;

void main() {
  vUv = uv;
  vChannel = aTile.x;
  vRange = aTile.yz;
  gl_Position = projectionMatrix * modelViewMatrix * instanceMatrix * vec4(position, 1.0);
}
`;

export const TILE_FRAGMENT = /* glsl */ `
precision highp float;
precision highp sampler2DArray;

uniform sampler2DArray uMaps;
uniform sampler2D uLut;
// Channels per array layer across and down (1, 1 unless the GPU has too few array layers).
uniform vec2 uGrid;
// Half a texel, in the cell's 0..1 coordinates: keeps linear minification inside the cell.
uniform vec2 uInset;
// Layer-wide value range, used when normalising per layer.
uniform vec2 uLayerRange;
uniform float uPerChannel;
uniform float uDiverging;
uniform vec3 uEdgeColor;
// A vector layer's strip (see STRIP_MAIN): its values, one byte each, in a plain 2D texture.
uniform float uStrip;
uniform sampler2D uValues;
uniform float uTexWidth;

in vec2 vUv;
flat in float vChannel;
flat in vec2 vRange;
layout(location = 0) out highp vec4 outColor;

void stripMain() {
  float count = max(1.0, vChannel);
  float i = min(floor(vUv.x * count), count - 1.0);
  ivec2 at = ivec2(int(mod(i, uTexWidth)), int(floor(i / uTexWidth)));
  float b = texelFetch(uValues, at, 0).r;
  float lo = vRange.x;
  float hi = vRange.y;
  float v = mix(lo, hi, b);
  float absMax = max(abs(lo), abs(hi));
  float tDiv = absMax > 0.0 ? 0.5 + 0.5 * v / absMax : 0.5;
  float t = clamp(mix(hi > lo ? b : 0.0, tDiv, uDiverging), 0.0, 1.0);
  // Bars rise from the zero line (the bottom when every value is ≥ 0) to the value.
  float zero = hi > lo ? clamp(-lo / (hi - lo), 0.0, 1.0) : 0.0;
  float y = vUv.y;
  float inBar = step(min(zero, b), y) * step(y, max(zero, b));
  vec3 color = texture(uLut, vec2((t * 255.0 + 0.5) / 256.0, 0.5)).rgb;
  // Outside the bar a faint tint of the value's colour keeps the strip readable as a heat strip from afar.
  outColor = vec4(mix(mix(uEdgeColor, color, 0.28), color, inBar), 1.0);
}

void main() {
  if (uStrip > 0.5) {
    stripMain();
    return;
  }
  float cells = uGrid.x * uGrid.y;
  float layer = floor((vChannel + 0.5) / cells);
  float cell = vChannel - layer * cells;
  float cy = floor((cell + 0.5) / uGrid.x);
  float cx = cell - cy * uGrid.x;
  // Row 0 of the map is its top row; the plane's v runs bottom to top.
  vec2 uv = clamp(vec2(vUv.x, 1.0 - vUv.y), uInset, 1.0 - uInset);
  float b = texture(uMaps, vec3((vec2(cx, cy) + uv) / uGrid, layer)).r;
  float v = mix(vRange.x, vRange.y, b);
  float lo = mix(uLayerRange.x, vRange.x, uPerChannel);
  float hi = mix(uLayerRange.y, vRange.y, uPerChannel);
  float absMax = max(abs(lo), abs(hi));
  float tSeq = hi > lo ? (v - lo) / (hi - lo) : 0.0;
  float tDiv = absMax > 0.0 ? 0.5 + 0.5 * v / absMax : 0.5;
  float t = clamp(mix(tSeq, tDiv, uDiverging), 0.0, 1.0);
  vec3 color = texture(uLut, vec2((t * 255.0 + 0.5) / 256.0, 0.5)).rgb;
  // A one-pixel frame in the background colour separates the tiles of a stack seen at an angle.
  // It fades out on tiles under ~20 px, which would otherwise be all frame.
  vec2 perPx = max(fwidth(vUv), vec2(1e-6));
  vec2 px = min(vUv, 1.0 - vUv) / perPx;
  float edge = (1.0 - clamp(min(px.x, px.y) - 0.5, 0.0, 1.0)) * smoothstep(12.0, 24.0, 1.0 / max(perPx.x, perPx.y));
  // The LUT holds sRGB bytes and is written as is: no colour-space conversion on purpose.
  outColor = vec4(mix(color, uEdgeColor, edge), 1.0);
}
`;
