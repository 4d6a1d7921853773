// The four architectures against PyTorch: every hidden state, logits, loss and the listed
// gradients of ../shared/fixtures/*/golden.json within 1e-4 relative error.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { verifyModelDir } from "../../src/models/verify.js";
import { fixture } from "../paths.js";

describe("golden outputs and gradients (PyTorch reference)", () => {
  for (const name of ["tiny-bert", "tiny-roberta", "tiny-distilbert", "tiny-gpt2"]) {
    it(name, () => {
      const res = verifyModelDir(fixture(name));
      for (const [k, v] of Object.entries(res.errors)) assert.ok(v <= 1e-4, `${name} ${k}: relative error ${v}`);
      assert.ok(Object.keys(res.errors).some((k) => k.startsWith("grad:")), "gradients were compared");
    });
  }
});
