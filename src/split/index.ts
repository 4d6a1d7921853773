// src/split: the customer's preparation and both parties of Split-and-Privatize, the one loop
// state and the one set of training defaults.
export * from "./customer.js";
export * from "./vendor.js";
export * from "./spec.js";
export * from "./loop.js";
export * from "./checkpoint.js";
export * from "./progress.js";
export * from "./release.js";
