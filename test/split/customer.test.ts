// What leaves the customer: padding rows are zeros whatever the text (wire version 2), real rows
// are privatized, and a receiver refuses frames that break either rule or speak version 1.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadClassifier } from "../../src/models/checkpoint.js";
import { loadTokenizer } from "../../src/models/tokenizers/index.js";
import { SeededNoise, createPrivatizer } from "../../src/privacy/index.js";
import { Customer, collate, encodeExamples } from "../../src/split/customer.js";
import { tidy } from "../../src/tensor/index.js";
import { WireError, batchToFrame, decodeFrame } from "../../src/wire/index.js";
import { fixture } from "../paths.js";

function setup(split: number): { customer: Customer; encode: (texts: string[]) => ReturnType<Customer["encode"]> } {
  const dir = fixture("tiny-bert");
  const tok = loadTokenizer(dir);
  const { model } = loadClassifier(dir);
  const customer = new Customer({ model, split, privatizer: createPrivatizer("dchi", { eta: 50 }), noise: new SeededNoise(7) });
  const encode = (texts: string[]): ReturnType<Customer["encode"]> => {
    const { batch } = collate(
      encodeExamples(
        tok,
        texts.map((text) => ({ text, label: 0 })),
        32,
      ),
      tok.padId,
    );
    return tidy(() => customer.encode(batch));
  };
  return { customer, encode };
}

const paddingRows = (w: ReturnType<Customer["encode"]>): Float32Array[] => {
  const rows: Float32Array[] = [];
  for (let i = 0; i < w.attentionMask.length; i++) if (!w.attentionMask[i]) rows.push(w.hidden.slice(i * w.dim, (i + 1) * w.dim));
  return rows;
};

describe("customer output", () => {
  it("padding rows are zeros, whatever the text, after k = 1 layer", () => {
    const { encode } = setup(1);
    const long = "a long sentence that sets the padded length of this batch well beyond the short one";
    const a = encode(["a good film", long]);
    const b = encode(["a terrible plot", long]);
    const pa = paddingRows(a);
    assert.ok(pa.length > 5, "the short sentence is padded");
    for (const r of [...pa, ...paddingRows(b)])
      assert.ok(
        r.every((v) => v === 0),
        "padding row is all zeros",
      );
    // Real rows carry noise: not zero, and the frame built from them decodes.
    assert.ok(a.hidden.subarray(0, a.dim).some((v) => v !== 0));
    assert.equal(decodeFrame(batchToFrame(a, 0, "f32", false)).shape[1], a.seqLen);
  });

  it("a receiver refuses non-zero padding rows and version-1 frames, naming why", () => {
    const { encode } = setup(1);
    const w = encode(["short", "a somewhat longer sentence here"]);
    const bytes = batchToFrame(w, 0, "f32", false);
    const v1 = bytes.slice();
    v1[4] = 1;
    assert.throws(
      () => decodeFrame(v1),
      (e: unknown) => e instanceof WireError && e.code === "bad_version" && /padding/.test(e.message),
    );
    const leaky = { ...w, hidden: w.hidden.slice() };
    const pad = w.attentionMask.indexOf(0);
    leaky.hidden[pad * w.dim] = 0.5;
    assert.throws(
      () => batchToFrame(leaky, 0, "f32", false),
      (e: unknown) => e instanceof WireError && e.code === "bad_padding",
    );
  });
});
