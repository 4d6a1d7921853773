// src/wire: everything that crosses the network. The message shapes (protocol.ts), the binary
// frame format (frame.ts, float16, CRC32) and the adapters between frames and WireBatch (batch.ts).
export * from "./protocol.js";
export * from "./frame.js";
export * from "./batch.js";
