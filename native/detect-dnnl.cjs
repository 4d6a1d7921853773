// Prints 1 when oneDNN (header + library) is present, else 0. binding.gyp reads it; oneDNN then
// takes the GEMMs and OpenBLAS is not linked. SAP_NO_DNNL=1 (or SAP_NO_BLAS=1, which means no
// GEMM library at all) skips it, to test the fallbacks.
const fs = require("node:fs");
const { execSync } = require("node:child_process");
if (process.env.SAP_NO_DNNL === "1" || process.env.SAP_NO_BLAS === "1") {
  process.stdout.write("0");
} else {
  const headers = ["/usr/include/dnnl.hpp", "/usr/include/oneapi/dnnl/dnnl.hpp", "/usr/local/include/dnnl.hpp"];
  const libs = [
    "/usr/lib/x86_64-linux-gnu/libdnnl.so",
    "/usr/lib/aarch64-linux-gnu/libdnnl.so",
    "/usr/lib/libdnnl.so",
    "/usr/lib64/libdnnl.so",
    "/usr/local/lib/libdnnl.so",
  ];
  let ok = headers.some((p) => fs.existsSync(p)) && libs.some((p) => fs.existsSync(p));
  if (!ok) {
    // A oneDNN installed elsewhere may ship a pkg-config file.
    try {
      execSync("pkg-config --exists dnnl", { stdio: "ignore" });
      ok = true;
    } catch {
      ok = false;
    }
  }
  process.stdout.write(ok ? "1" : "0");
}
