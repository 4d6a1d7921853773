// Prints 1 when OpenBLAS (header + library) is present, else 0. binding.gyp reads it.
// SAP_NO_BLAS=1 forces the portable fallback (used to test that path).
const fs = require("node:fs");
if (process.env.SAP_NO_BLAS === "1") {
  process.stdout.write("0");
} else {
  const headers = [
    "/usr/include/x86_64-linux-gnu/cblas.h",
    "/usr/include/aarch64-linux-gnu/cblas.h",
    "/usr/include/cblas.h",
    "/usr/include/openblas/cblas.h",
  ];
  const libs = [
    "/usr/lib/x86_64-linux-gnu/libopenblas.so",
    "/usr/lib/aarch64-linux-gnu/libopenblas.so",
    "/usr/lib/libopenblas.so",
    "/usr/lib64/libopenblas.so",
  ];
  const ok = headers.some((p) => fs.existsSync(p)) && libs.some((p) => fs.existsSync(p));
  process.stdout.write(ok ? "1" : "0");
}
