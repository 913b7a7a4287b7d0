#!/usr/bin/env python3
"""Independent reference outputs for org.lethe.judge's tests (JudgeModelsTest).

Rebuilds the tests' tiny seeded BERT / RoBERTa judges from the same recipe (SplitMix64 streams
seeded by the model seed and Java's String.hashCode of each tensor name; see TinyJudgeModels) and
runs a from-scratch PyTorch forward pass in float64 on each sequence ALONE (no padding), following
Hugging Face's modeling_bert / modeling_roberta: embeddings (RoBERTa positions from pad + 1),
post-LN layers with exact erf GELU, mean pooling, the BERT pooler + classifier and RoBERTa's
classification head. Token ids are written here by hand from the tests' WordPiece vocabulary.
It shares no code with the Java side. Prints Java array literals to paste into the tests.

Usage: /usr/bin/python3 bench/judge_reference.py   (needs torch + numpy: apt-get install python3-torch)
"""
import math

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
M64 = (1 << 64) - 1

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "is", "running", "in", "park", "sleep",
         "##s", "##ing", ".", ",", "no", "animal", "outside", "run"]
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
VOCAB = {w: i + 5 for i, w in enumerate(WORDS)}

BERT = dict(family="bert", vocab=32, hidden=8, layers=2, heads=2, inter=16, positions=24, types=2,
            eps=1e-12, pad=0, labels=3)
ROBERTA = dict(family="roberta", vocab=32, hidden=8, layers=2, heads=2, inter=16, positions=26,
               types=1, eps=1e-5, pad=1, labels=3)


def java_hash(s):
    h = 0
    for ch in s:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= (1 << 31) else h


def values(seed, name, n):
    """SplitMix64 uniforms in [-scale, scale) (1 + that for LayerNorm weights), rounded to float32."""
    if name.endswith("LayerNorm.weight"):
        scale, offset = 0.2, 1.0
    elif name.endswith("LayerNorm.bias"):
        scale, offset = 0.1, 0.0
    elif name.endswith(".bias"):
        scale, offset = 0.1, 0.0
    else:
        scale, offset = 0.5, 0.0
    state = (seed * 1000003 + java_hash(name)) & M64
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z = z ^ (z >> 31)
        u = (z >> 11) * 2.0 ** -53
        out[i] = np.float32((2.0 * u - 1.0) * scale + offset)
    return out


def weights(cfg, seed, prefix):
    def t(name, *shape):
        return torch.tensor(values(seed, name, int(np.prod(shape))).astype(np.float64)).reshape(shape)

    h, w = cfg["hidden"], {}
    p = prefix
    w["word"] = t(p + "embeddings.word_embeddings.weight", cfg["vocab"], h)
    w["pos"] = t(p + "embeddings.position_embeddings.weight", cfg["positions"], h)
    w["type"] = t(p + "embeddings.token_type_embeddings.weight", cfg["types"], h)
    w["ln"] = (t(p + "embeddings.LayerNorm.weight", h), t(p + "embeddings.LayerNorm.bias", h))
    w["layers"] = []
    for i in range(cfg["layers"]):
        l = p + "encoder.layer.%d." % i

        def lin(name, o, n):
            return t(l + name + ".weight", o, n), t(l + name + ".bias", o)

        def ln(name):
            return t(l + name + ".weight", h), t(l + name + ".bias", h)

        w["layers"].append(dict(
            q=lin("attention.self.query", h, h), k=lin("attention.self.key", h, h),
            v=lin("attention.self.value", h, h), o=lin("attention.output.dense", h, h),
            ln1=ln("attention.output.LayerNorm"), i=lin("intermediate.dense", cfg["inter"], h),
            out=lin("output.dense", h, cfg["inter"]), ln2=ln("output.LayerNorm")))
    w["pooler"] = (t(p + "pooler.dense.weight", h, h), t(p + "pooler.dense.bias", h))
    return w, t


def layer_norm(x, gb, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * gb[0] + gb[1]


def linear(x, wb):
    return x @ wb[0].T + wb[1]


def encode(cfg, w, ids, types):
    ids = torch.tensor(ids)
    types = torch.tensor(types)
    n = len(ids)
    if cfg["family"] == "bert":
        positions = torch.arange(n)
    else:  # create_position_ids_from_input_ids: no padding here, so pad + 1 .. pad + n
        positions = torch.arange(n) + cfg["pad"] + 1
    x = w["word"][ids] + w["pos"][positions] + w["type"][types]
    x = layer_norm(x, w["ln"], cfg["eps"])
    heads, d = cfg["heads"], cfg["hidden"] // cfg["heads"]
    for L in w["layers"]:
        def split(y):
            return y.reshape(n, heads, d).transpose(0, 1)

        q, k, v = split(linear(x, L["q"])), split(linear(x, L["k"])), split(linear(x, L["v"]))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
        ctx = (probs @ v).transpose(0, 1).reshape(n, cfg["hidden"])
        a = layer_norm(linear(ctx, L["o"]) + x, L["ln1"], cfg["eps"])
        inner = linear(a, L["i"])
        inner = 0.5 * inner * (1.0 + torch.erf(inner / math.sqrt(2.0)))
        x = layer_norm(linear(inner, L["out"]) + a, L["ln2"], cfg["eps"])
    return x


def ids_of(words, specials):
    unk = 1 if specials is BERT_SPECIALS else 3
    return [VOCAB.get(t, unk) for t in words]


def single(cfg, words):
    if cfg["family"] == "bert":
        ids = [2] + ids_of(words, BERT_SPECIALS) + [3]
    else:
        ids = [0] + ids_of(words, ROBERTA_SPECIALS) + [2]
    return ids, [0] * len(ids)


def pair(cfg, a, b):
    if cfg["family"] == "bert":
        first = [2] + ids_of(a, BERT_SPECIALS) + [3]
        second = ids_of(b, BERT_SPECIALS) + [3]
        return first + second, [0] * len(first) + [1] * len(second)
    ids = [0] + ids_of(a, ROBERTA_SPECIALS) + [2, 2] + ids_of(b, ROBERTA_SPECIALS) + [2]
    return ids, [0] * len(ids)


# The tests' texts, as the WordPiece tokenizer splits them (lower-cased, punctuation split).
TEXTS = {
    "The cat sat on the mat.": "the cat sat on the mat .".split(),
    "A dog is running in the park.": "a dog is running in the park .".split(),
    "Dogs sleep.": "dog ##s sleep .".split(),
    "": [],
    "A cat is on the mat.": "a cat is on the mat .".split(),
    "The dog sleeps.": "the dog sleep ##s .".split(),
    "No animal is running outside, zebra!": "no animal is running outside , [UNK] [UNK]".split(),
}
SENTENCES = ["The cat sat on the mat.", "A dog is running in the park.", "Dogs sleep.", ""]
PAIRS = [("The cat sat on the mat.", "A cat is on the mat."),
         ("A dog is running in the park.", "The dog sleeps."),
         ("Dogs sleep.", "No animal is running outside, zebra!"),
         ("The cat sat on the mat.", "The cat sat on the mat.")]


def words(text, cfg):
    return TEXTS[text]  # "[UNK]" is in neither vocabulary: ids_of maps it to the family's unk id


def jfloats(xs):
    return "{" + ", ".join("%.9ff" % float(x) for x in xs) + "}"


def mean_pooled(cfg, w, text):
    ids, types = single(cfg, words(text, cfg))
    return encode(cfg, w, ids, types).mean(0)


def cosine(a, b):
    return float(a @ b / (a.norm() * b.norm()))


def report_sentences(tag, cfg, w):
    emb = [mean_pooled(cfg, w, s) for s in SENTENCES]
    print("// %s: ids of %s" % (tag, SENTENCES))
    for s in SENTENCES:
        print("//   %r -> %s" % (s, single(cfg, words(s, cfg))[0]))
    print("static final float[][] %s_EMBEDDINGS = {" % tag)
    for e in emb:
        print("        %s," % jfloats(e))
    print("};")
    cos = [cosine(emb[0], emb[1]), cosine(emb[0], emb[2]), cosine(emb[1], emb[2]), cosine(emb[0], emb[3])]
    print("/** cos(S0, S1), cos(S0, S2), cos(S1, S2), cos(S0, S3). */")
    print("static final float[] %s_COSINES = %s;" % (tag, jfloats(cos)))


def report_pairs(tag, cfg, w, head):
    print("// %s: pair ids" % tag)
    rows = []
    for a, b in PAIRS:
        ids, types = pair(cfg, words(a, cfg), words(b, cfg))
        print("//   %s types %s" % (ids, types))
        first = encode(cfg, w, ids, types)[0]
        logits = linear(torch.tanh(linear(first, head[0])), head[1])
        rows.append(torch.softmax(logits, -1))
    print("static final float[][] %s_PROBABILITIES = {" % tag)
    for r in rows:
        print("        %s," % jfloats(r))
    print("};")


def main():
    w, _ = weights(BERT, 11, "")
    report_sentences("BERT_SENTENCE", BERT, w)

    w, t = weights(BERT, 12, "bert.")
    h = BERT["hidden"]
    head = (w["pooler"], (t("classifier.weight", BERT["labels"], h), t("classifier.bias", BERT["labels"])))
    report_pairs("BERT_NLI", BERT, w, head)

    w, t = weights(ROBERTA, 13, "roberta.")
    head = ((t("classifier.dense.weight", h, h), t("classifier.dense.bias", h)),
            (t("classifier.out_proj.weight", ROBERTA["labels"], h), t("classifier.out_proj.bias", ROBERTA["labels"])))
    report_pairs("ROBERTA_NLI", ROBERTA, w, head)
    report_sentences("ROBERTA_SENTENCE", ROBERTA, w)


if __name__ == "__main__":
    main()
