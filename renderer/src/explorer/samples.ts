/** The bundled sample photos (resources/samples, terms in TERMS.md there). */
export const SAMPLES = [
  { file: 'chelsea.png', label: 'Chelsea the cat' },
  { file: 'astronaut.png', label: 'Astronaut (NASA)' },
  { file: 'coffee.png', label: 'Coffee cup' },
  { file: 'rocket.jpg', label: 'Falcon 9 launch' },
] as const;

/** Reads a bundled sample through the page's own origin (app:// or the local web server). */
export async function fetchSample(resourcesBase: string, file: string): Promise<{ name: string; bytes: ArrayBuffer }> {
  const res = await fetch(new URL(`samples/${file}`, resourcesBase));
  if (!res.ok) throw new Error(`samples/${file}: HTTP ${res.status}`);
  return { name: file, bytes: await res.arrayBuffer() };
}
