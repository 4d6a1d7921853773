{
  "variables": {
    "sap_blas%": "<!(node native/detect-blas.cjs)",
    "sap_dnnl%": "<!(node native/detect-dnnl.cjs)"
  },
  "targets": [
    {
      "target_name": "sap_native",
      "sources": ["native/addon.cc", "native/gemm.cc", "native/kernels.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fexceptions", "-Wall", "-Wno-unused-parameter"],
      "conditions": [
        ["sap_dnnl==1", {
          "defines": ["SAP_HAVE_DNNL"],
          "libraries": ["-ldnnl", "-lgomp"]
        }],
        ["sap_dnnl==0 and sap_blas==1", {
          "defines": ["SAP_USE_BLAS"],
          "libraries": ["-lopenblas"]
        }]
      ]
    }
  ]
}
