/**
 * Hand-written types for the parts of the generated decoder (onnx-proto.js) the ONNX format reads. The decoder
 * returns plain objects with camelCase fields; int64 fields are numbers, or Long objects when long.js is loaded.
 */

/** An int64 as protobufjs returns it. */
export type Int64 = number | { toNumber(): number };

export interface OnnxStringStringEntry {
  key: string;
  value: string;
}

export interface OnnxTensor {
  dims: Int64[];
  dataType: number;
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: Int64[];
  name: string;
  rawData: Uint8Array;
  doubleData: number[];
  uint64Data: Int64[];
  externalData: OnnxStringStringEntry[];
  dataLocation: number;
}

export interface OnnxAttribute {
  name: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  t?: OnnxTensor | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
}

export interface OnnxNode {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: OnnxAttribute[];
}

export interface OnnxDimension {
  dimValue?: Int64 | null;
  dimParam?: string | null;
}

export interface OnnxValueInfo {
  name: string;
  type?: {
    tensorType?: { elemType: number; shape?: { dim: OnnxDimension[] } | null } | null;
  } | null;
}

export interface OnnxGraph {
  node: OnnxNode[];
  name: string;
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
}

export interface OnnxOperatorSet {
  domain: string;
  version: Int64;
}

export interface OnnxModel {
  irVersion: Int64;
  opsetImport: OnnxOperatorSet[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: Int64;
  graph?: OnnxGraph | null;
}

export declare const onnx: {
  ModelProto: { decode(bytes: Uint8Array): OnnxModel };
};
