// The SAP wire format (frames, float16, CRC32) and its WireBatch adapters.
export * from "./frame.js";
export * from "./batch.js";
