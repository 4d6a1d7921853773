// Tokenizers against Hugging Face: the llama.cpp golden cases for bert-base-uncased and GPT-2, the
// fixture models' input ids, pairs, truncation, padding, offsets, decoding, batching and load errors.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  BYTE_TO_CHAR,
  ByteLevelBpeTokenizer,
  type Tokenizer,
  TokenizerError,
  WordPieceTokenizer,
  loadTokenizer,
  parseMerges,
  tokenizerFromJson,
} from "../../src/models/tokenizers/index.js";
import { dataPath, fixture } from "../paths.js";

const DELIMITER = "\n__ggml_vocab_test__\n";

interface GoldenCase {
  text: string;
  ids: number[];
}

/**
 * The .inp file writes every text followed by the delimiter (the last one too), and the .out file
 * one line per text: " id id ...\n", an empty line for no tokens. Splitting the .inp naively on the
 * delimiter gives one more piece, the empty string after the final delimiter, which is no case.
 */
function readGolden(name: string): GoldenCase[] {
  const inp = readFileSync(dataPath("tokenizers", "golden", `${name}.inp`), "utf8");
  const out = readFileSync(dataPath("tokenizers", "golden", `${name}.out`), "utf8");
  assert.ok(inp.endsWith(DELIMITER), `${name}.inp ends with the delimiter`);
  assert.ok(out.endsWith("\n"), `${name}.out ends with a newline`);
  const texts = inp.slice(0, -DELIMITER.length).split(DELIMITER);
  const lines = out.slice(0, -1).split("\n");
  assert.equal(lines.length, texts.length, `${name}: as many output lines as texts`);
  return texts.map((text, i) => ({ text, ids: lines[i]!.trim() === "" ? [] : lines[i]!.trim().split(/\s+/).map(Number) }));
}

const bertDir = dataPath("tokenizers", "bert-base-uncased");
const gpt2Dir = dataPath("tokenizers", "gpt2-bpe");
const bert = loadTokenizer(bertDir);
const gpt2 = loadTokenizer(gpt2Dir);

const tmpDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sap-tok-"));
  tmpDirs.push(dir);
  return dir;
}
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

/** tokenizer.json as Hugging Face writes it for bert-base-uncased, built from vocab.txt. */
function bertTokenizerJson(): unknown {
  const lines = readFileSync(join(bertDir, "vocab.txt"), "utf8").split("\n");
  lines.pop();
  const vocab = Object.fromEntries(lines.map((t, i) => [t, i]));
  const added = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map((content) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const special = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)],
      pair: [special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0), sequence("B", 1), special("[SEP]", 1)],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [101], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [102], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
  };
}

/** tokenizer.json as Hugging Face writes it for gpt2, built from encoder.json + vocab.bpe. */
function gpt2TokenizerJson(): unknown {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      { id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab: JSON.parse(readFileSync(join(gpt2Dir, "encoder.json"), "utf8")),
      merges: parseMerges(readFileSync(join(gpt2Dir, "vocab.bpe"), "utf8")).map(([a, b]) => `${a} ${b}`),
    },
  };
}

function checkGolden(name: string, tok: Tokenizer): void {
  const cases = readGolden(name);
  // 46 texts; counting the empty piece after the final delimiter, as a naive split does, gives 47.
  assert.equal(cases.length, 46, `${name}: number of golden cases`);
  const failures: string[] = [];
  for (const [i, c] of cases.entries()) {
    const got = tok.encode(c.text, undefined, { addSpecialTokens: false }).ids;
    if (JSON.stringify(got) !== JSON.stringify(c.ids)) {
      failures.push(`case ${i + 1} ${JSON.stringify(c.text)}: expected [${c.ids.join(" ")}], got [${got.join(" ")}]`);
    }
  }
  assert.deepEqual(failures, [], `${name}: ${failures.length}/${cases.length} golden cases differ:\n${failures.join("\n")}`);
}

describe("golden token ids (Hugging Face, via llama.cpp's vocab tests)", () => {
  it("bert-base-uncased from vocab.txt", () => checkGolden("bert-base-uncased", bert));
  it("gpt2 from encoder.json + vocab.bpe", () => checkGolden("gpt2", gpt2));
  it("bert-base-uncased from tokenizer.json", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(bertTokenizerJson()));
    checkGolden("bert-base-uncased", loadTokenizer(dir));
  });
  it("gpt2 from tokenizer.json", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(gpt2TokenizerJson()));
    checkGolden("gpt2", loadTokenizer(dir));
  });
  it("tokenizer.json and the vocabulary files give the same encodings, pairs included", () => {
    const fromJson = [tokenizerFromJson(bertTokenizerJson()), tokenizerFromJson(gpt2TokenizerJson())];
    for (const [i, tok] of [bert, gpt2].entries()) {
      const a = tok.encode("Héllo, WORLD! [SEP] <|endoftext|> naïve", "second text", { maxLength: 9 });
      assert.deepEqual(fromJson[i]!.encode("Héllo, WORLD! [SEP] <|endoftext|> naïve", "second text", { maxLength: 9 }), a);
      assert.equal(fromJson[i]!.vocabSize, tok.vocabSize);
      assert.equal(fromJson[i]!.padId, tok.padId);
    }
  });
});

describe("fixture model directories", () => {
  const golden = (name: string) => JSON.parse(readFileSync(join(fixture(name), "golden.json"), "utf8"));
  it("tiny-bert: loads from vocab.txt and reproduces its input ids", () => {
    const tok = loadTokenizer(fixture("tiny-bert"));
    assert.equal(tok.kind, "wordpiece");
    assert.deepEqual(tok.encode("a gripping , funny movie").ids, [101, 1037, 13940, 1010, 6057, 3185, 102]);
    const batch = tok.encodeBatch(["a gripping , funny movie", "dull"]);
    const g = golden("tiny-bert");
    assert.deepEqual(Array.from(batch.inputIds), g.input_ids.flat());
    assert.deepEqual(Array.from(batch.attentionMask), g.attention_mask.flat());
  });
  it("tiny-gpt2: loads from vocab.json + merges.txt and reproduces its input ids", () => {
    const tok = loadTokenizer(fixture("tiny-gpt2"));
    assert.equal(tok.kind, "bpe");
    assert.deepEqual(tok.encode("Hello world, this is a test").ids, [15496, 995, 11, 428, 318, 257, 1332]);
    const batch = tok.encodeBatch(["Hello world, this is a test", "Hello"]);
    const g = golden("tiny-gpt2");
    assert.deepEqual(Array.from(batch.inputIds), g.input_ids.flat());
    assert.deepEqual(Array.from(batch.attentionMask), g.attention_mask.flat());
  });
});

describe("special tokens and vocabulary", () => {
  it("BERT: ids of the special tokens, vocabulary size, lookups", () => {
    assert.deepEqual(
      [bert.padId, bert.unkId, bert.clsId, bert.sepId, bert.maskId, bert.vocabSize],
      [0, 100, 101, 102, 103, 30522],
    );
    assert.equal(bert.tokenToId("movie"), 3185);
    assert.equal(bert.idToToken(3185), "movie");
    assert.equal(bert.idToToken(30522), undefined);
    assert.equal(bert.tokenToId("no-such-token"), undefined);
    assert.equal(bert.numSpecialTokensToAdd(false), 2);
    assert.equal(bert.numSpecialTokensToAdd(true), 3);
  });
  it("GPT-2: <|endoftext|> is bos, eos and padding; no special tokens are added", () => {
    assert.deepEqual([gpt2.bosId, gpt2.eosId, gpt2.padId, gpt2.vocabSize], [50256, 50256, 50256, 50257]);
    assert.equal(gpt2.clsId, undefined);
    assert.equal(gpt2.numSpecialTokensToAdd(true), 0);
    assert.deepEqual(gpt2.encode("Hello").ids, gpt2.encode("Hello", undefined, { addSpecialTokens: false }).ids);
  });
  it("special tokens written in the text are matched whole unless splitSpecialTokens is set", () => {
    const ids = [101, 1037, 13940, 1010, 6057, 3185, 102];
    assert.deepEqual(bert.encode("[CLS] a gripping , funny movie [SEP]", undefined, { addSpecialTokens: false }).ids, ids);
    const split = bert.encode("[CLS] x", undefined, { addSpecialTokens: false, splitSpecialTokens: true });
    assert.deepEqual(split.tokens.slice(0, 3), ["[", "cl", "##s"]);
    const g = gpt2.encode("Hi<|endoftext|>there");
    assert.deepEqual(g.ids, [17250, 50256, 8117]);
    assert.deepEqual(g.offsets[1], [2, 15]);
  });
});

describe("pairs and type ids", () => {
  it("BERT: [CLS] A [SEP] B [SEP], type ids 0 then 1", () => {
    const e = bert.encode("hello world", "how are you");
    assert.deepEqual(e.tokens, ["[CLS]", "hello", "world", "[SEP]", "how", "are", "you", "[SEP]"]);
    assert.deepEqual(e.ids, [101, 7592, 2088, 102, 2129, 2024, 2017, 102]);
    assert.deepEqual(e.typeIds, [0, 0, 0, 0, 1, 1, 1, 1]);
    assert.deepEqual(e.specialTokensMask, [1, 0, 0, 1, 0, 0, 0, 1]);
    assert.deepEqual(e.sequenceIds, [null, 0, 0, null, 1, 1, 1, null]);
    assert.deepEqual(e.attentionMask, [1, 1, 1, 1, 1, 1, 1, 1]);
    // Offsets of the second text point into the second text.
    assert.deepEqual(e.offsets.slice(4, 7), [
      [0, 3],
      [4, 7],
      [8, 11],
    ]);
  });
  it("BERT without special tokens: type ids still tell the texts apart", () => {
    const e = bert.encode("hello", "you", { addSpecialTokens: false });
    assert.deepEqual(e.ids, [7592, 2017]);
    assert.deepEqual(e.typeIds, [0, 1]);
  });
  it("GPT-2: the texts are concatenated, type ids 0 then 1", () => {
    const e = gpt2.encode("Hello world", " again");
    assert.deepEqual(e.ids, [15496, 995, 757]);
    assert.deepEqual(e.typeIds, [0, 0, 1]);
    assert.deepEqual(e.specialTokensMask, [0, 0, 0]);
  });
});

describe("truncation and padding", () => {
  const long = "one two three four five six seven eight nine ten"; // 10 tokens
  const short = "a b c d"; // 4 tokens
  const six = "one two three four five six";
  it("single text: right-side, special tokens counted in maxLength", () => {
    const e = bert.encode(long, undefined, { maxLength: 6, truncation: true });
    assert.deepEqual(e.tokens, ["[CLS]", "one", "two", "three", "four", "[SEP]"]);
    assert.deepEqual(gpt2.encode(long, undefined, { maxLength: 3 }).tokens, ["one", "Ġtwo", "Ġthree"]);
    assert.equal(bert.encode(long, undefined, { maxLength: 6, truncation: false }).ids.length, 12);
  });
  it("pair, longest_first: the shorter text stays whole when it can", () => {
    const e = bert.encode(long, short, { maxLength: 12, truncation: "longest_first" });
    assert.equal(e.ids.length, 12);
    assert.deepEqual(e.tokens, ["[CLS]", "one", "two", "three", "four", "five", "[SEP]", "a", "b", "c", "d", "[SEP]"]);
    assert.deepEqual(bert.encode(short, long, { maxLength: 12, truncation: true }).tokens.slice(5), [
      "[SEP]",
      "one",
      "two",
      "three",
      "four",
      "five",
      "[SEP]",
    ]);
  });
  it("pair, longest_first: when both must shrink the budget is halved, the odd token to the second text", () => {
    const e = bert.encode(six, six, { maxLength: 10, truncation: "longest_first" });
    assert.deepEqual(e.sequenceIds.filter((s) => s === 0).length + "/" + e.sequenceIds.filter((s) => s === 1).length, "3/4");
  });
  it("only_first, only_second, and the errors when they cannot reach maxLength", () => {
    const first = bert.encode(long, short, { maxLength: 10, truncation: "only_first" });
    assert.deepEqual(first.tokens, ["[CLS]", "one", "two", "three", "[SEP]", "a", "b", "c", "d", "[SEP]"]);
    const second = bert.encode(short, long, { maxLength: 10, truncation: "only_second" });
    assert.deepEqual(second.tokens, ["[CLS]", "a", "b", "c", "d", "[SEP]", "one", "two", "three", "[SEP]"]);
    assert.throws(() => bert.encode(short, long, { maxLength: 6, truncation: "only_first" }), TokenizerError);
    assert.throws(() => bert.encode(long, undefined, { maxLength: 6, truncation: "only_second" }), /needs a pair/);
    assert.throws(() => bert.encode(long, short, { maxLength: 2, truncation: true }), /no room/);
    assert.throws(() => bert.encode(long, undefined, { truncation: true }), /needs maxLength/);
  });
  it("padding to max_length on the right: [PAD] for BERT, <|endoftext|> for GPT-2, masked", () => {
    const e = bert.encode("dull", undefined, { maxLength: 6, padding: "max_length" });
    assert.deepEqual(e.ids, [101, 10634, 102, 0, 0, 0]);
    assert.deepEqual(e.attentionMask, [1, 1, 1, 0, 0, 0]);
    assert.deepEqual(e.typeIds, [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(e.specialTokensMask, [1, 0, 1, 1, 1, 1]);
    assert.deepEqual(e.tokens.slice(3), ["[PAD]", "[PAD]", "[PAD]"]);
    const g = gpt2.encode("Hello", undefined, { maxLength: 4, padding: "max_length" });
    assert.deepEqual(g.ids, [15496, 50256, 50256, 50256]);
    assert.deepEqual(g.attentionMask, [1, 0, 0, 0]);
    assert.throws(() => bert.encode("dull", undefined, { padding: "max_length" }), /needs maxLength/);
  });
});

describe("offsets into the original text", () => {
  const stripAccentsLower = (s: string) =>
    s
      .normalize("NFD")
      .replace(/\p{Mn}/gu, "")
      .toLowerCase();
  it("BERT: each token's span, lower-cased and without accents, is the token", () => {
    const text = "Héllo WORLD, Naïve CAFÉ-owners (unaffable) 東京!";
    const e = bert.encode(text);
    assert.equal(e.tokens[0], "[CLS]");
    assert.deepEqual(e.offsets[0], [0, 0]);
    for (let i = 1; i < e.ids.length - 1; i++) {
      const [s, t] = e.offsets[i]!;
      assert.equal(stripAccentsLower(text.slice(s, t)), e.tokens[i]!.replace(/^##/, ""), `token ${e.tokens[i]}`);
    }
    assert.deepEqual(e.offsets.slice(1, 3), [
      [0, 5],
      [6, 11],
    ]);
    assert.equal(text.slice(...e.offsets[1]!), "Héllo");
    const una = e.tokens.indexOf("una");
    assert.deepEqual(e.tokens.slice(una, una + 3), ["una", "##ffa", "##ble"]);
    assert.equal(text.slice(e.offsets[una + 1]![0], e.offsets[una + 2]![1]), "ffable");
  });
  it("BERT: a decomposed accent belongs to the letter before it; [UNK] spans the whole word", () => {
    const text = "Cafe\u0301 🦙x";
    const e = bert.encode(text, undefined, { addSpecialTokens: false });
    assert.deepEqual(e.tokens, ["cafe", "[UNK]"]);
    assert.deepEqual(e.offsets, [
      [0, 5],
      [6, 9],
    ]);
  });
  it("GPT-2: spans include the leading space; a token holding part of a character spans all of it", () => {
    const text = " Hello, world! 🦙 ok";
    const e = gpt2.encode(text);
    assert.deepEqual(
      e.offsets.slice(0, 4).map(([s, t]) => text.slice(s, t)),
      [" Hello", ",", " world", "!"],
    );
    const llama = e.offsets.slice(4, -1);
    assert.ok(llama.length > 1, "the emoji takes several byte-level tokens");
    for (const [s, t] of llama) assert.ok(s >= 14 && t === 17, `emoji token span [${s}, ${t}]`);
    assert.equal(text.slice(...e.offsets.at(-1)!), " ok");
  });
  it("GPT-2: for text without multi-byte characters, each span is exactly the token's bytes", () => {
    const text = "It's   a\ttest, isn't it? 12345 !!!";
    const e = gpt2.encode(text);
    const byteChar = new Map(BYTE_TO_CHAR.map((c, b) => [c, String.fromCharCode(b)]));
    for (const [i, tok] of e.tokens.entries()) {
      const raw = Array.from(tok, (c) => byteChar.get(c)).join("");
      assert.equal(text.slice(...e.offsets[i]!), raw);
    }
  });
});

describe("decode", () => {
  it("GPT-2 is lossless: decode(encode(text)) is the text", () => {
    const texts = [
      ...readGolden("gpt2").map((c) => c.text),
      "Hello world, this is a test",
      "  leading and trailing  \n",
      "emoji 😶‍🌫️ and CJK 我想 and <|endoftext|> inside",
    ];
    for (const text of texts) assert.equal(gpt2.decode(gpt2.encode(text).ids), text, JSON.stringify(text));
    assert.equal(gpt2.decode(gpt2.encode("Hi<|endoftext|>").ids, { skipSpecialTokens: true }), "Hi");
  });
  it("BERT joins word pieces and tidies spaces before punctuation", () => {
    const ids = bert.encode("Hello, world! It's unaffable.").ids;
    assert.equal(bert.decode(ids), "[CLS] hello, world! it's unaffable. [SEP]");
    assert.equal(bert.decode(ids, { skipSpecialTokens: true }), "hello, world! it's unaffable.");
    assert.equal(
      bert.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false }),
      "hello , world ! it ' s unaffable .",
    );
    assert.throws(() => bert.decode([1e6]), /outside the vocabulary/);
  });
});

describe("batches", () => {
  it("pads to the longest text; row-major Int32Arrays of batchSize x seqLen", () => {
    const b = bert.encodeBatch(["a gripping , funny movie", "dull", ""]);
    assert.equal(b.batchSize, 3);
    assert.equal(b.seqLen, 7);
    for (const a of [b.inputIds, b.attentionMask, b.tokenTypeIds]) {
      assert.ok(a instanceof Int32Array);
      assert.equal(a.length, 21);
    }
    assert.deepEqual(Array.from(b.inputIds.subarray(14)), [101, 102, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(b.attentionMask.subarray(7, 14)), [1, 1, 1, 0, 0, 0, 0]);
    assert.ok(b.encodings.every((e) => e.ids.length === 7));
  });
  it("pairs, max_length padding with truncation, and token type ids", () => {
    const b = bert.encodeBatch(
      [
        ["hello world", "how are you"],
        ["one two three four five six seven eight nine ten", "a b"],
      ],
      { padding: "max_length", maxLength: 10 },
    );
    assert.equal(b.seqLen, 10);
    assert.deepEqual(Array.from(b.tokenTypeIds.subarray(0, 10)), [0, 0, 0, 0, 1, 1, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(b.tokenTypeIds.subarray(10)), [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    assert.deepEqual(b.encodings[1]!.tokens, ["[CLS]", "one", "two", "three", "four", "five", "[SEP]", "a", "b", "[SEP]"]);
  });
  it("max_length padding without truncation refuses a text that is too long; an empty batch is empty", () => {
    assert.throws(
      () => gpt2.encodeBatch(["one two three"], { padding: "max_length", maxLength: 2, truncation: false }),
      /more than maxLength/,
    );
    const empty = gpt2.encodeBatch([]);
    assert.deepEqual([empty.batchSize, empty.seqLen, empty.inputIds.length], [0, 0, 0]);
  });
});

describe("loadTokenizer", () => {
  it("names the directory and the files it looked for", () => {
    const missing = join(tmpdir(), "sap-no-such-model-dir");
    assert.throws(
      () => loadTokenizer(missing),
      (e: Error) => e instanceof TokenizerError && e.message.includes(missing),
    );
    const empty = tempDir();
    assert.throws(
      () => loadTokenizer(empty),
      (e: Error) =>
        e.message.includes(empty) &&
        /tokenizer\.json/.test(e.message) &&
        /vocab\.txt/.test(e.message) &&
        /merges\.txt/.test(e.message),
    );
    const half = tempDir();
    writeFileSync(join(half, "vocab.json"), "{}");
    assert.throws(() => loadTokenizer(half), /merges\.txt is missing/);
  });
  it("respects do_lower_case from tokenizer_config.json", () => {
    const dir = tempDir();
    copyFileSync(join(bertDir, "vocab.txt"), join(dir, "vocab.txt"));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ do_lower_case: false, model_max_length: 512 }));
    const cased = loadTokenizer(dir);
    // Neither "Hello" nor "café" (accent kept: no lower-casing means no accent stripping) is in the uncased vocabulary.
    assert.deepEqual(cased.encode("Hello café", undefined, { addSpecialTokens: false }).tokens, ["[UNK]", "[UNK]"]);
    assert.deepEqual(bert.encode("Hello café", undefined, { addSpecialTokens: false }).tokens, ["hello", "cafe"]);
    assert.equal(cased.modelMaxLength, 512);
    assert.equal(cased.encode("word ".repeat(600), undefined, { truncation: true }).ids.length, 512);
  });
  it("builds tokenizers from the vocabulary files directly", () => {
    const wp = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nplay\n##ing\n##ed\n");
    assert.deepEqual(wp.encode("Playing played plays").tokens, ["[CLS]", "play", "##ing", "play", "##ed", "[UNK]", "[SEP]"]);
    const bpe = ByteLevelBpeTokenizer.fromText(JSON.stringify({ a: 0, b: 1, ab: 2, "<|endoftext|>": 3 }), "#version: 0.2\na b\n");
    assert.deepEqual(bpe.encode("abab").ids, [2, 2]);
    assert.equal(bpe.padId, 3);
  });
  it("GPT-2 with addPrefixSpace: the first word is tokenised like any other; the added space spans nothing", () => {
    const vocab = readFileSync(join(gpt2Dir, "encoder.json"), "utf8");
    const prefixed = ByteLevelBpeTokenizer.fromText(vocab, readFileSync(join(gpt2Dir, "vocab.bpe"), "utf8"), {
      addPrefixSpace: true,
    });
    const e = prefixed.encode("Hello world");
    assert.deepEqual(e.ids, [18435, 995]);
    assert.deepEqual(e.offsets, [
      [0, 5],
      [5, 11],
    ]);
    assert.equal(prefixed.decode(e.ids), " Hello world");
  });
});
