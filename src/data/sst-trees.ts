// The Stanford Sentiment Treebank's PTB trees, one per line, e.g. "(3 (2 It) (4 (2 's) ...))":
// each sentence's root label (0-4) and its leaves as text, PTB escapes undone.
import { readTextFile } from "./read.js";
import { DatasetError, type Example } from "./types.js";

export const sst5Labels = ["very negative", "negative", "neutral", "positive", "very positive"];

/** PTB escapes found in the SST trees (-LRB-/-RRB-, \/ and \*) and their bracket relatives. */
const PTB_ESCAPES: Record<string, string> = {
  "-LRB-": "(",
  "-RRB-": ")",
  "-LSB-": "[",
  "-RSB-": "]",
  "-LCB-": "{",
  "-RCB-": "}",
};

export function unescapePtbToken(token: string): string {
  return PTB_ESCAPES[token] ?? token.replace(/\\([/*])/g, "$1");
}

/** One tree's root label and leaves; throws a DatasetError on malformed brackets or labels. */
export function parseSentimentTree(line: string, file: string, lineNo: number): { label: number; leaves: string[] } {
  // Split on ASCII whitespace only: a few leaves hold a no-break space (train.txt has "8\u00a01\\/2").
  const tokens = line.match(/\(|\)|[^ \t\r\n()]+/g) ?? [];
  const leaves: string[] = [];
  let pos = 0;
  const fail = (what: string): never => {
    throw new DatasetError(file, lineNo, `malformed tree: ${what} (token ${pos + 1} of ${tokens.length})`);
  };
  const node = (): number => {
    if (tokens[pos] !== "(") fail(`expected "(", found ${JSON.stringify(tokens[pos] ?? "end of line")}`);
    pos++;
    const labelToken = tokens[pos] ?? "";
    if (!/^[0-4]$/.test(labelToken)) fail(`expected a label 0-4, found ${JSON.stringify(labelToken || "end of line")}`);
    pos++;
    if (tokens[pos] === "(") {
      while (tokens[pos] === "(") node();
    } else {
      const word = tokens[pos];
      if (word === undefined || word === ")") fail("a node with neither children nor a word");
      leaves.push(unescapePtbToken(word!));
      pos++;
    }
    if (tokens[pos] !== ")") fail(`expected ")", found ${JSON.stringify(tokens[pos] ?? "end of line")}`);
    pos++;
    return Number(labelToken);
  };
  const label = node();
  if (pos !== tokens.length) fail("text after the root's closing bracket");
  return { label, leaves };
}

/** Every tree in a file as an Example: root label, leaves joined by single spaces. */
export function readSentimentTrees(file: string): Example[] {
  const lines = readTextFile(file).split("\n");
  const examples: Example[] = [];
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!.trim();
    if (line === "") continue;
    const { label, leaves } = parseSentimentTree(line, file, k + 1);
    examples.push({ text: leaves.join(" "), label });
  }
  return examples;
}
