"""Plain-PyTorch reference for Lethe's benchmarks: what a user would write instead of Lethe.

The same Llama (Hugging Face layout: config.json + model.safetensors, read here with struct and
numpy because Debian has no safetensors/transformers packages), the same objectives (grad_diff:
ga on forget + nll on retain; npo: NPO against a frozen copy + nll on retain, each term
normalized by its count over the whole step, as Lethe does), the same batches (token ids that
Lethe exports, cut into the same micro-batches, padded the same way), AdamW with Lethe's
decoupled weight decay on matrices only, global-norm clipping. Eager PyTorch, no tricks a user
would not write.

Commands (stdout: one JSON object; progress on stderr):
  unlearn  MODEL BATCHES.jsonl --method grad_diff|npo --lr LR --threads N [--steps K] [--pad dynamic|fixed:L]
  eval     MODEL BATCHES.jsonl --threads N [--new-tokens 200] [--prompts 4]
  peak     --threads N [--size 2048] [--reps 20]
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

IGNORE = -100
MASKED = -1e9


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- weights

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """name -> float32 torch tensor (BF16 widened by shifting into the high half of a float32)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        raw = data[start:end]
        if meta["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, dtype=_DTYPES[meta["dtype"]]).astype(np.float32)
        out[name] = torch.from_numpy(a.copy().reshape(meta["shape"]))
    return out


# ----------------------------------------------------------------------------- model

class RMSNorm(torch.nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["num_attention_heads"]
        self.kv = c.get("num_key_value_heads", self.heads)
        self.hd = c.get("head_dim") or c["hidden_size"] // self.heads
        h = c["hidden_size"]
        bias = c.get("attention_bias", False)
        self.q_proj = torch.nn.Linear(h, self.heads * self.hd, bias=bias)
        self.k_proj = torch.nn.Linear(h, self.kv * self.hd, bias=bias)
        self.v_proj = torch.nn.Linear(h, self.kv * self.hd, bias=bias)
        self.o_proj = torch.nn.Linear(self.heads * self.hd, h, bias=bias)

    def forward(self, x, cos, sin, bias, cache=None, layer=0):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if layer in cache:
                k = torch.cat([cache[layer][0], k], dim=2)
                v = torch.cat([cache[layer][1], v], dim=2)
            cache[layer] = (k, v)
        g = self.heads // self.kv
        if g > 1:
            k = k.repeat_interleave(g, dim=1)
            v = v.repeat_interleave(g, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) * (self.hd ** -0.5)
        probs = torch.softmax(scores + bias, dim=-1)
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, self.heads * self.hd)
        return self.o_proj(ctx)


class Mlp(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = torch.nn.Linear(h, i, bias=False)
        self.up_proj = torch.nn.Linear(h, i, bias=False)
        self.down_proj = torch.nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        eps = c.get("rms_norm_eps", 1e-6)
        self.input_layernorm = RMSNorm(c["hidden_size"], eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], eps)
        self.mlp = Mlp(c)

    def forward(self, x, cos, sin, bias, cache=None, layer=0):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, bias, cache, layer)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = torch.nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = torch.nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c.get("rms_norm_eps", 1e-6))
        self.tied = c.get("tie_word_embeddings", False)
        if not self.tied:
            self.lm_head = torch.nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        hd = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
        theta = c.get("rope_theta", 10000.0)
        self.register_buffer("inv_freq", 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)),
                             persistent=False)

    @staticmethod
    def load(model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            c = json.load(f)
        if c.get("rope_scaling"):
            raise SystemExit("lethe_ref: rope_scaling is not supported by the reference")
        m = Llama(c)
        w = read_safetensors(os.path.join(model_dir, "model.safetensors"))
        state = {k[len("model."):] if k.startswith("model.") else k: v for k, v in w.items()}
        if m.tied:
            state.pop("lm_head.weight", None)
        missing, unexpected = m.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise SystemExit("lethe_ref: weights do not match the config: missing %s, unexpected %s"
                             % (missing, unexpected))
        return m

    def head(self):
        return self.embed_tokens.weight if self.tied else self.lm_head.weight

    def forward(self, ids, mask, cache=None, past=0):
        b, t = ids.shape
        pos = torch.arange(past, past + t).unsqueeze(0)
        freqs = pos[..., None].float() * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]
        # Causal + key-padding additive bias, as Lethe builds it (-1e9 underflows to 0 in softmax).
        q = torch.arange(past, past + t)[:, None]
        k = torch.arange(past + t)[None, :]
        allowed = (k <= q)[None, None] & (mask[:, None, None, :] > 0)
        bias = torch.where(allowed, torch.tensor(0.0), torch.tensor(MASKED))
        x = self.embed_tokens(ids)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, bias, cache, i)
        return F.linear(self.norm(x), self.head())


# ----------------------------------------------------------------------------- data

def read_rows(path):
    """Lethe's exported step rows: step, micro, role, pair_id, input_ids, labels."""
    steps = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            steps.setdefault(r["step"], {}).setdefault(r["micro"], {"forget": [], "retain": []})[r["role"]].append(r)
    for s in steps.values():
        for m in s.values():
            for role in m.values():
                role.sort(key=lambda r: r["pair_id"])
    return [steps[k] for k in sorted(steps)]


def pad(rows, pad_id, width=None):
    """Right-padded ids, key mask and labels, as Lethe's micro-batches (width: micro-batch max)."""
    w = width or max(len(r["input_ids"]) for r in rows)
    ids = torch.full((len(rows), w), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), w), dtype=torch.long)
    labels = torch.full((len(rows), w), IGNORE, dtype=torch.long)
    for i, r in enumerate(rows):
        n = min(len(r["input_ids"]), w)
        ids[i, :n] = torch.tensor(r["input_ids"][:n])
        labels[i, :n] = torch.tensor(r["labels"][:n])
        mask[i, :n] = 1
    return ids, mask, labels


def target_logprobs(logits, labels):
    """(sum of answer log-probs per row, answer mask (B, T-1))."""
    targets = labels[:, 1:]
    valid = targets != IGNORE
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (lp * valid).sum(1), valid


# ----------------------------------------------------------------------------- commands

def set_threads(n):
    torch.set_num_threads(n)
    return torch.get_num_threads()


def blas_info():
    cfg = torch.__config__.show()
    blas = [l.strip() for l in cfg.splitlines() if "BLAS" in l or "LAPACK" in l]
    return {"torch": torch.__version__, "blas": "; ".join(blas),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
            "openblas_l2_size": os.environ.get("OPENBLAS_L2_SIZE")}


def unlearn(a):
    torch.manual_seed(0)
    threads = set_threads(a.threads)
    model = Llama.load(a.model)
    ref = None
    if a.method == "npo":
        ref = Llama.load(a.model).eval()
        for p in ref.parameters():
            p.requires_grad_(False)
    pad_id = model.c.get("eos_token_id", 2)
    if isinstance(pad_id, list):
        pad_id = pad_id[0]
    fixed = int(a.pad.split(":")[1]) if a.pad.startswith("fixed:") else None
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999), eps=1e-8, foreach=True)
    steps = read_rows(a.batches)[: a.steps or None]
    out = []
    for si, step in enumerate(steps):
        t0 = time.perf_counter()
        # Global counts of the step, as Lethe's driver computes them before any forward pass.
        n_forget_tokens = sum(sum(1 for x in r["labels"][1:] if x != IGNORE) for m in step.values() for r in m["forget"])
        n_forget_rows = sum(len(m["forget"]) for m in step.values())
        n_retain_tokens = sum(sum(1 for x in r["labels"][1:] if x != IGNORE) for m in step.values() for r in m["retain"])
        opt.zero_grad(set_to_none=True)
        forget_part = retain_part = 0.0
        tokens = ref_tokens = 0
        compute = 0.0
        for micro in sorted(step):
            m = step[micro]
            c0 = time.perf_counter()
            fi, fm, fl = pad(m["forget"], pad_id, fixed)
            ri, rm, rl = pad(m["retain"], pad_id, fixed) if m["retain"] else (None, None, None)
            loss = 0.0
            if a.method == "npo":
                with torch.no_grad():
                    ref_lp, _ = target_logprobs(ref(fi, fm), fl)
                ref_tokens += int(fm.sum())
                lp, _ = target_logprobs(model(fi, fm), fl)
                # (2/beta) softplus(-beta (logp_ref - logp)), summed over rows / rows in the step
                f = (2 / a.beta) * F.softplus(-a.beta * (ref_lp - lp)).sum() / n_forget_rows
            else:
                lp, _ = target_logprobs(model(fi, fm), fl)
                f = lp.sum() / n_forget_tokens  # ga: minimizing the mean answer log-prob
            tokens += int(fm.sum())
            loss = f
            forget_part += float(f)
            if ri is not None:
                rlp, _ = target_logprobs(model(ri, rm), rl)
                r = -rlp.sum() / n_retain_tokens
                tokens += int(rm.sum())
                loss = loss + r
                retain_part += float(r)
            loss.backward()
            compute += time.perf_counter() - c0
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), a.max_grad_norm)
        opt.step()
        seconds = time.perf_counter() - t0
        out.append({"step": si + 1, "loss": forget_part + retain_part, "forget": forget_part, "retain": retain_part,
                    "grad_norm": float(norm), "tokens": tokens, "ref_tokens": ref_tokens, "seconds": seconds,
                    "compute_seconds": compute})
        log("ref step %d loss %.6f tokens %d %.3f s" % (si + 1, forget_part + retain_part, tokens, seconds))
    print(json.dumps({"threads": threads, **blas_info(), "steps": out}))


def evaluate(a):
    """Scored tokens/s (one forward over padded batches) and greedy generation with/without a KV cache."""
    threads = set_threads(a.threads)
    model = Llama.load(a.model).eval()
    pad_id = model.c.get("eos_token_id", 2)
    rows = [r for s in read_rows(a.batches) for m in s.values() for r in m["forget"] + m["retain"]]
    res = {"threads": threads, **blas_info()}
    with torch.no_grad():
        t0 = time.perf_counter()
        scored = 0
        for i in range(0, len(rows), a.batch):
            ids, mask, labels = pad(rows[i:i + a.batch], pad_id)
            lp, valid = target_logprobs(model(ids, mask), labels)
            scored += int(mask.sum())
        res["score_tokens"] = scored
        res["score_seconds"] = time.perf_counter() - t0
        prompts = [r["input_ids"][: next(j for j, x in enumerate(r["labels"]) if x != IGNORE)] for r in rows[: a.prompts]]
        for use_cache in (True, False):
            t0 = time.perf_counter()
            generated = 0
            for p in prompts:
                ids = torch.tensor([p])
                cache = {} if use_cache else None
                logits = model(ids, torch.ones_like(ids), cache)
                for n in range(a.new_tokens):
                    nxt = logits[:, -1].argmax(-1, keepdim=True)
                    generated += 1
                    if use_cache:
                        logits = model(nxt, torch.ones(1, ids.shape[1] + 1, dtype=torch.long), cache, ids.shape[1])
                        ids = torch.cat([ids, nxt], 1)
                    else:
                        ids = torch.cat([ids, nxt], 1)
                        logits = model(ids, torch.ones_like(ids))
            key = "generate_cache" if use_cache else "generate_nocache"
            res[key + "_tokens"] = generated
            res[key + "_seconds"] = time.perf_counter() - t0
    print(json.dumps(res))


def peak(a):
    threads = set_threads(a.threads)
    x = torch.randn(a.size, a.size)
    y = torch.randn(a.size, a.size)
    torch.mm(x, y)
    best = 0.0
    for _ in range(a.reps):
        t0 = time.perf_counter()
        torch.mm(x, y)
        best = max(best, 2 * a.size ** 3 / (time.perf_counter() - t0))
    print(json.dumps({"threads": threads, **blas_info(), "gflops": best / 1e9, "size": a.size}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("unlearn")
    u.add_argument("model")
    u.add_argument("batches")
    u.add_argument("--method", choices=["grad_diff", "npo"], required=True)
    u.add_argument("--lr", type=float, required=True)
    u.add_argument("--beta", type=float, default=0.1)
    u.add_argument("--weight-decay", type=float, default=0.01)
    u.add_argument("--max-grad-norm", type=float, default=1.0)
    u.add_argument("--threads", type=int, required=True)
    u.add_argument("--steps", type=int, default=0)
    u.add_argument("--pad", default="dynamic")
    e = sub.add_parser("eval")
    e.add_argument("model")
    e.add_argument("batches")
    e.add_argument("--threads", type=int, required=True)
    e.add_argument("--batch", type=int, default=32)
    e.add_argument("--new-tokens", type=int, default=200)
    e.add_argument("--prompts", type=int, default=4)
    k = sub.add_parser("peak")
    k.add_argument("--threads", type=int, required=True)
    k.add_argument("--size", type=int, default=2048)
    k.add_argument("--reps", type=int, default=20)
    a = p.parse_args()
    {"unlearn": unlearn, "eval": evaluate, "peak": peak}[a.cmd](a)


if __name__ == "__main__":
    main()
