"""Reference side of sap's PEFT/transformers interop tests (test/peft/interop.test.ts).

  python peft_interop.py check                  -> prints the library versions as JSON
  python peft_interop.py run JOBS.json OUT.json -> runs every job, writes {"versions", "results"}

Jobs (all in eval mode, float32; ids and masks come from the node test):
  sap_to_torch: load the base with AutoModelForSequenceClassification, a sap-saved adapter with
                PeftModel.from_pretrained; logits, logits with the adapter disabled, and whether
                PEFT's state dict holds exactly the file's tensors.
  torch_to_sap: wrap the base in a PEFT LoRA, make lora_B and the head random, save_pretrained;
                logits (and with the adapter disabled) for sap to match.
  model:        load a model directory sap saved; the loading report and logits.
A job that raises reports its traceback instead of stopping the others.
"""

import json
import sys
import traceback
import warnings


def versions():
    import peft
    import safetensors
    import torch
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "safetensors": safetensors.__version__,
    }


def forward(model, job):
    """Logits [B][C]. GPT-2 reads the last token that is not pad_token_id, so its rows run one
    at a time without their padding; the encoders take the padded batch and its mask."""
    import torch

    ids = torch.tensor(job["input_ids"], dtype=torch.long)
    mask = torch.tensor(job["attention_mask"], dtype=torch.long)
    with torch.no_grad():
        if model.config.model_type == "gpt2":
            rows = []
            for b in range(ids.shape[0]):
                n = int(mask[b].sum())
                rows.append(model(input_ids=ids[b : b + 1, :n]).logits[0])
            out = torch.stack(rows)
        else:
            out = model(input_ids=ids, attention_mask=mask).logits
    return out.tolist()


def load_base(path, num_labels):
    import torch
    from transformers import AutoModelForSequenceClassification

    # dtype: transformers 5 would otherwise keep an fp16 checkpoint in fp16.
    # ignore_mismatched_sizes: a new head of num_labels replaces the checkpoint's.
    return AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=num_labels, dtype=torch.float32, ignore_mismatched_sizes=True
    )


def sap_to_torch(job):
    from peft import PeftModel, get_peft_model_state_dict
    from safetensors.torch import load_file

    model = PeftModel.from_pretrained(load_base(job["base"], job["num_labels"]), job["adapter"])
    model.eval()
    logits = forward(model, job)
    with model.disable_adapter():
        base_logits = forward(model, job)
    saved = load_file(job["adapter"] + "/adapter_model.safetensors")
    state = get_peft_model_state_dict(model)
    common = sorted(set(saved) & set(state))
    return {
        "logits": logits,
        "base_logits": base_logits,
        "not_loaded": sorted(set(saved) - set(state)),
        "not_in_file": sorted(set(state) - set(saved)),
        "max_abs_tensor_diff": max(float((saved[k] - state[k]).abs().max()) for k in common) if common else None,
    }


def torch_to_sap(job):
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(job["seed"])  # PEFT draws lora_A (and a new head) from the global generator
    base = load_base(job["base"], job["num_labels"])
    config = LoraConfig(
        task_type="SEQ_CLS",
        r=job["r"],
        lora_alpha=job["alpha"],
        lora_dropout=0.1,
        target_modules=job["targets"],
        layers_to_transform=job.get("layers"),
        layers_pattern=job.get("layers_pattern"),
        modules_to_save=job.get("modules_to_save"),
    )
    model = get_peft_model(base, config)
    # Non-zero lora_B (PEFT starts it at zero) and a random head, so that both matter.
    gen = torch.Generator().manual_seed(job["seed"])
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad and "lora_A" not in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    model.eval()
    logits = forward(model, job)
    with model.disable_adapter():
        base_logits = forward(model, job)
    model.save_pretrained(job["out"])
    return {"logits": logits, "base_logits": base_logits}


def load_model(job):
    import torch
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

    cls = AutoModelForMaskedLM if job.get("task") == "mlm" else AutoModelForSequenceClassification
    model, info = cls.from_pretrained(job["dir"], dtype=torch.float32, output_loading_info=True)
    model.eval()
    out = {k: sorted(str(x) for x in v) for k, v in info.items()}
    if job.get("task") != "mlm":
        out["logits"] = forward(model, job)
    return out


KINDS = {"sap_to_torch": sap_to_torch, "torch_to_sap": torch_to_sap, "model": load_model}


def main(argv):
    if argv[1:2] == ["check"]:
        print(json.dumps(versions()))
        return 0
    if len(argv) != 4 or argv[1] != "run":
        print(__doc__, file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)  # the test machines are shared; these models are tiny
    with open(argv[2]) as f:
        jobs = json.load(f)["jobs"]
    results = {}
    for job in jobs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = KINDS[job["kind"]](job)
            except Exception:
                res = {"error": traceback.format_exc()}
        res["warnings"] = [str(w.message) for w in caught]
        results[job["id"]] = res
    with open(argv[3], "w") as f:
        json.dump({"versions": versions(), "results": results}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
