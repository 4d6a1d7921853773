"""Hugging Face transformers + PEFT reference for `sap bench finetune`: the same split fine-tuning step.

What a user would write instead of sap: BertForSequenceClassification loaded from the sap checkpoint
as it is; the bottom (embeddings + the first `split` layers) frozen, in eval mode, under no_grad;
d_chi noise added to its output per real token (direction uniform on the sphere, norm ~ Gamma(d, 1/eta),
always fp32; padding rows zeroed, as sap's customer sends them); the top layers with PEFT LoRA on
query/value of layers split..L-1 plus the pooler and classifier trainable, in train mode; cross-entropy,
gradient clipping at 1, AdamW (no weight decay on biases and LayerNorm), one step per batch.

`python hf_peft_finetune.py --probe` prints one JSON line with the versions of torch, transformers and
peft (null for a missing one) and exits 0.

Otherwise it is a small server, so that rounds can alternate with sap's in one run: the first stdin
line is the set-up {"model", "split", "rank", "alpha", "dropout", "eta", "lr", "weight_decay",
"precision": "fp32"|"bf16", "threads", "batches": [{"ids": [[...]], "mask": [[...]], "labels": [...]}]}
(token ids from sap's tokenizer, padded to the sequence length); the reply is {"trainable": N, "torch": ...}.
Each later line {"steps", "warmup"} runs warm-up steps then timed steps over the batches in turn and
replies {"seconds": total of the timed steps, "bottom_seconds": the bottom's and the noise's share, "loss": last loss, "maxrss_kb": this process's peak RSS,
"bf16": whether bf16 autocast ran}. bf16 is CPU autocast around the forward passes (the backward
outside it, as PyTorch documents).
"""
import contextlib
import json
import resource
import sys
import time


def versions():
    out = {}
    for name in ("torch", "transformers", "peft"):
        try:
            out[name] = __import__(name).__version__
        except Exception:  # absent, or broken: either way it cannot run
            out[name] = None
    return out


if len(sys.argv) > 1 and sys.argv[1] == "--probe":
    print(json.dumps(versions()), flush=True)
    sys.exit(0)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import BertForSequenceClassification  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()  # the classifier head is new: its "newly initialized" warning is expected


def reply(obj):
    print(json.dumps(obj), flush=True)


def dchi_noise(shape, eta, generator):
    """z = r * u per token: u uniform on the unit sphere, r ~ Gamma(d, scale 1/eta); fp32."""
    *lead, d = shape
    u = torch.randn(*lead, d, generator=generator)
    u = u / u.norm(dim=-1, keepdim=True)
    r = torch.distributions.Gamma(torch.tensor(float(d)), torch.tensor(float(eta))).sample(tuple(lead))
    return u * r.unsqueeze(-1)


class SplitFinetune:
    def __init__(self, cfg):
        torch.manual_seed(cfg.get("seed", 0))
        self.generator = torch.Generator().manual_seed(cfg.get("seed", 0) + 1)
        self.bf16 = cfg["precision"] == "bf16"
        self.eta = cfg["eta"]
        self.split = cfg["split"]
        # The checkpoint is stored in fp16; transformers 5 would keep that (dtype="auto"). Training
        # runs on fp32 master weights, as sap's does.
        try:
            model = BertForSequenceClassification.from_pretrained(cfg["model"], num_labels=2, dtype=torch.float32)
        except TypeError:  # transformers < 4.56 names it torch_dtype
            model = BertForSequenceClassification.from_pretrained(cfg["model"], num_labels=2, torch_dtype=torch.float32)
        n_layers = model.config.num_hidden_layers
        lora = LoraConfig(
            r=cfg["rank"],
            lora_alpha=cfg["alpha"],
            lora_dropout=cfg["dropout"],
            target_modules=["query", "value"],
            layers_to_transform=list(range(self.split, n_layers)),
            modules_to_save=["pooler", "classifier"],
        )
        self.peft = get_peft_model(model, lora)
        self.bert = self.peft.base_model.model.bert
        self.head = self.peft.base_model.model
        self.layers = list(self.bert.encoder.layer)
        self.trainable = [p for p in self.peft.parameters() if p.requires_grad]
        decay = [p for p in self.trainable if p.ndim >= 2]
        no_decay = [p for p in self.trainable if p.ndim < 2]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
            lr=cfg["lr"],
        )
        self.batches = [
            (
                torch.tensor(b["ids"], dtype=torch.long),
                torch.tensor(b["mask"], dtype=torch.long),
                torch.tensor(b["labels"], dtype=torch.long),
            )
            for b in cfg["batches"]
        ]
        self.next = 0
        self.loss = float("nan")
        self.bottom_seconds = 0.0

    def autocast(self):
        return torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()

    def mask_for(self, mask, emb):
        # The mask transformers itself builds for this attention implementation (sdpa by default).
        if hasattr(self.bert, "_create_attention_masks"):
            m, _ = self.bert._create_attention_masks(
                attention_mask=mask,
                encoder_attention_mask=None,
                embedding_output=emb,
                encoder_hidden_states=None,
                past_key_values=None,
            )
            return m
        return self.bert.get_extended_attention_mask(mask, mask.shape)

    def step(self):
        ids, mask, labels = self.batches[self.next]
        self.next = (self.next + 1) % len(self.batches)
        # Customer: the frozen bottom, eval mode, no graph; then d_chi noise in fp32.
        t0 = time.perf_counter()
        self.bert.embeddings.eval()
        for layer in self.layers[: self.split]:
            layer.eval()
        with torch.no_grad():
            with self.autocast():
                h = self.bert.embeddings(input_ids=ids)
                am = self.mask_for(mask, h)
                for layer in self.layers[: self.split]:
                    h = layer(h, am)
            h = h.float() + dchi_noise(h.shape, self.eta, self.generator)
            h = h * mask.unsqueeze(-1).to(h.dtype)
        self.bottom_seconds += time.perf_counter() - t0
        # Vendor: the top with LoRA, train mode (dropout as in fine-tuning), one AdamW step.
        for layer in self.layers[self.split :]:
            layer.train()
        self.head.dropout.train()
        self.bert.pooler.train()
        with self.autocast():
            for layer in self.layers[self.split :]:
                h = layer(h, am)
            logits = self.head.classifier(self.head.dropout(self.bert.pooler(h)))
        loss = F.cross_entropy(logits.float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.trainable, 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.loss = loss.item()

    def run(self, req):
        for _ in range(req["warmup"]):
            self.step()
        self.bottom_seconds = 0.0
        t0 = time.perf_counter()
        for _ in range(req["steps"]):
            self.step()
        seconds = time.perf_counter() - t0
        return seconds


def main():
    setup = json.loads(sys.stdin.readline())
    torch.set_num_threads(int(setup["threads"]))
    if setup["precision"] == "bf16" and not hasattr(torch, "autocast"):
        reply({"error": f"torch {torch.__version__} has no CPU autocast"})
        return
    job = SplitFinetune(setup)
    reply(
        {
            "trainable": sum(p.numel() for p in job.trainable),
            "threads": torch.get_num_threads(),
            **versions(),
        }
    )
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        seconds = job.run(json.loads(line))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        reply({"seconds": seconds, "bottom_seconds": job.bottom_seconds, "loss": job.loss, "maxrss_kb": rss, "bf16": job.bf16})


main()
