"""PyTorch reference for `sap bench engine`: the same BERT layer, timed the same way.

Runs as a small server so the two engines can be alternated in one run: each stdin line is a
JSON request {"hidden", "heads", "ffn", "batch", "seq", "mode": "full"|"lora", "iters", "warmup",
"precision": "fp32"|"bf16"}; each reply is one JSON line {"ms": [...], "maxrss_kb": N, "bf16": bool}.
bf16 is CPU autocast (forward under torch.autocast, backward outside it, as PyTorch documents);
"bf16": false in the reply means this torch has no CPU autocast and nothing was timed. Runs under
any Python with torch (the caller picks it) with 2 threads and OMP_WAIT_POLICY=PASSIVE.
"""
import contextlib
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)


class Lora(torch.nn.Module):
    def __init__(self, base, r=8, alpha=16):
        super().__init__()
        self.base = base
        self.A = torch.nn.Parameter(torch.randn(r, base.in_features) * 0.01)
        self.B = torch.nn.Parameter(torch.zeros(base.out_features, r))
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + F.linear(F.linear(x, self.A), self.B) * self.scale


class Layer(torch.nn.Module):
    """BertLayer (eval-equivalent: no dropout), as transformers writes it."""

    def __init__(self, h, heads, ffn):
        super().__init__()
        self.heads = heads
        self.q = torch.nn.Linear(h, h)
        self.k = torch.nn.Linear(h, h)
        self.v = torch.nn.Linear(h, h)
        self.o = torch.nn.Linear(h, h)
        self.ln1 = torch.nn.LayerNorm(h, eps=1e-12)
        self.i = torch.nn.Linear(h, ffn)
        self.out = torch.nn.Linear(ffn, h)
        self.ln2 = torch.nn.LayerNorm(h, eps=1e-12)

    def forward(self, x, mask):
        B, T, H = x.shape
        d = H // self.heads

        def split(t):
            return t.view(B, T, self.heads, d).permute(0, 2, 1, 3)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + mask
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(B, T, H)
        a = self.ln1(self.o(ctx) + x)
        return self.ln2(self.out(F.gelu(self.i(a))) + a)


def run(req):
    layer = Layer(req["hidden"], req["heads"], req["ffn"])
    if req["mode"] == "lora":
        for p in layer.parameters():
            p.requires_grad_(False)
        layer.q = Lora(layer.q)
        layer.v = Lora(layer.v)
    B, T = req["batch"], req["seq"]
    x = torch.randn(B, T, req["hidden"], requires_grad=True)
    attn = torch.ones(B, T)
    attn[:, T - T // 8 :] = 0  # some padding, as real batches have
    mask = (1.0 - attn)[:, None, None, :] * torch.finfo(torch.float32).min
    g = torch.randn(B, T, req["hidden"])
    bf16 = req.get("precision") == "bf16"
    times = []
    for it in range(req["warmup"] + req["iters"]):
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        t0 = time.perf_counter()
        with ctx:
            y = layer(x, mask)
        y.float().backward(g)
        t1 = time.perf_counter()
        x.grad = None
        for p in layer.parameters():
            p.grad = None
        if it >= req["warmup"]:
            times.append((t1 - t0) * 1000)
    return times


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    req = json.loads(line)
    bf16 = req.get("precision") == "bf16"
    ok = not bf16 or hasattr(torch, "autocast")
    ms = run(req) if ok else []
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"ms": ms, "maxrss_kb": rss, "bf16": bf16 and ok}), flush=True)
