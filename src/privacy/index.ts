// Privacy mechanisms, registered by name: none, dchi, gaussian, laplace, cti, projection.
export * from "./noise.js";
export * from "./privatizer.js";
export * from "./dchi.js";
export * from "./coordinate.js";
export * from "./cti.js";
export * from "./projection.js";
