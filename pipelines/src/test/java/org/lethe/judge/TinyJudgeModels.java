package org.lethe.judge;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lethe.model.io.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tiny seeded BERT and RoBERTa judges in the Hugging Face layout (config.json, a WordPiece
 * tokenizer.json, model.safetensors). Every tensor is filled from its own SplitMix64 stream seeded
 * by the model seed and the tensor name's String.hashCode, so bench/judge_reference.py rebuilds the
 * same weights independently and computes the reference outputs the tests compare against.
 */
public final class TinyJudgeModels {

    static final List<String> WORDS = List.of("the", "cat", "sat", "on", "mat", "a", "dog", "is",
            "running", "in", "park", "sleep", "##s", "##ing", ".", ",", "no", "animal", "outside", "run");
    static final List<String> BERT_SPECIALS = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");
    static final List<String> ROBERTA_SPECIALS = List.of("<s>", "<pad>", "</s>", "<unk>", "<mask>");

    static final int VOCAB = 32;
    static final int HIDDEN = 8;
    static final int LAYERS = 2;
    static final int HEADS = 2;
    static final int INTERMEDIATE = 16;
    static final int BERT_POSITIONS = 24;
    /** RoBERTa reserves pad_token_id + 1 = 2 positions: the same 24 usable ones. */
    static final int ROBERTA_POSITIONS = 26;
    static final int LABELS = 3;

    private static final ObjectMapper JSON = new ObjectMapper();

    private TinyJudgeModels() {}

    /** A sentence-transformers directory around a BERT body without prefix (seed 11). */
    public static Path bertSentence(Path dir) throws IOException {
        Files.createDirectories(dir);
        writeConfig(dir, bertConfig(null));
        writeTokenizer(dir, false);
        LinkedHashMap<String, Shape> shapes = body("", false);
        BertEncoder.linear(shapes, "pooler.dense", HIDDEN, HIDDEN); // saved by sentence-transformers, unused
        writeWeights(dir, 11, shapes);
        Files.writeString(dir.resolve("modules.json"), """
                [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
                """);
        Files.createDirectories(dir.resolve("1_Pooling"));
        Files.writeString(dir.resolve("1_Pooling/config.json"), """
                {"word_embedding_dimension": 8, "pooling_mode_cls_token": false,
                 "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false,
                 "pooling_mode_mean_sqrt_len_tokens": false}
                """);
        Files.writeString(dir.resolve("sentence_bert_config.json"),
                "{\"max_seq_length\": 24, \"do_lower_case\": false}");
        return dir;
    }

    /** BertForSequenceClassification (seed 12): "bert." prefix, pooler, classifier; ENTAILMENT first. */
    public static Path bertNli(Path dir) throws IOException {
        Files.createDirectories(dir);
        writeConfig(dir, bertConfig(new String[] {"ENTAILMENT", "neutral", "Contradiction"}));
        writeTokenizer(dir, false);
        LinkedHashMap<String, Shape> shapes = body("bert.", false);
        BertEncoder.linear(shapes, "bert.pooler.dense", HIDDEN, HIDDEN);
        BertEncoder.linear(shapes, "classifier", LABELS, HIDDEN);
        writeWeights(dir, 12, shapes);
        return dir;
    }

    /** RobertaForSequenceClassification (seed 13): "roberta." prefix, classification head. */
    static Path robertaNli(Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectNode c = common("roberta", ROBERTA_POSITIONS, 1, 1e-5, 1);
        labels(c, new String[] {"entailment", "neutral", "contradiction"});
        writeConfig(dir, c);
        writeTokenizer(dir, true);
        LinkedHashMap<String, Shape> shapes = body("roberta.", true);
        BertEncoder.linear(shapes, "classifier.dense", HIDDEN, HIDDEN);
        BertEncoder.linear(shapes, "classifier.out_proj", LABELS, HIDDEN);
        writeWeights(dir, 13, shapes);
        return dir;
    }

    static ObjectNode bertConfig(String[] labels) {
        ObjectNode c = common("bert", BERT_POSITIONS, 2, 1e-12, 0);
        if (labels != null) {
            labels(c, labels);
        }
        return c;
    }

    private static ObjectNode common(String type, int positions, int types, double eps, int pad) {
        ObjectNode c = JSON.createObjectNode();
        c.put("model_type", type);
        c.put("vocab_size", VOCAB);
        c.put("hidden_size", HIDDEN);
        c.put("num_hidden_layers", LAYERS);
        c.put("num_attention_heads", HEADS);
        c.put("intermediate_size", INTERMEDIATE);
        c.put("max_position_embeddings", positions);
        c.put("type_vocab_size", types);
        c.put("layer_norm_eps", eps);
        c.put("pad_token_id", pad);
        c.put("hidden_act", "gelu");
        return c;
    }

    private static void labels(ObjectNode c, String[] labels) {
        ObjectNode id2label = c.putObject("id2label");
        for (int i = 0; i < labels.length; i++) {
            id2label.put(Integer.toString(i), labels[i]);
        }
    }

    static void writeConfig(Path dir, ObjectNode config) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config);
    }

    /** BERT's HF tensor names and shapes under {@code p}; RoBERTa has one token type. */
    private static LinkedHashMap<String, Shape> body(String p, boolean roberta) {
        LinkedHashMap<String, Shape> s = new LinkedHashMap<>();
        s.put(p + "embeddings.word_embeddings.weight", new Shape(VOCAB, HIDDEN));
        s.put(p + "embeddings.position_embeddings.weight",
                new Shape(roberta ? ROBERTA_POSITIONS : BERT_POSITIONS, HIDDEN));
        s.put(p + "embeddings.token_type_embeddings.weight", new Shape(roberta ? 1 : 2, HIDDEN));
        s.put(p + "embeddings.LayerNorm.weight", new Shape(HIDDEN));
        s.put(p + "embeddings.LayerNorm.bias", new Shape(HIDDEN));
        for (int i = 0; i < LAYERS; i++) {
            String l = p + "encoder.layer." + i + ".";
            BertEncoder.linear(s, l + "attention.self.query", HIDDEN, HIDDEN);
            BertEncoder.linear(s, l + "attention.self.key", HIDDEN, HIDDEN);
            BertEncoder.linear(s, l + "attention.self.value", HIDDEN, HIDDEN);
            BertEncoder.linear(s, l + "attention.output.dense", HIDDEN, HIDDEN);
            s.put(l + "attention.output.LayerNorm.weight", new Shape(HIDDEN));
            s.put(l + "attention.output.LayerNorm.bias", new Shape(HIDDEN));
            BertEncoder.linear(s, l + "intermediate.dense", INTERMEDIATE, HIDDEN);
            BertEncoder.linear(s, l + "output.dense", HIDDEN, INTERMEDIATE);
            s.put(l + "output.LayerNorm.weight", new Shape(HIDDEN));
            s.put(l + "output.LayerNorm.bias", new Shape(HIDDEN));
        }
        return s;
    }

    static void writeWeights(Path dir, long seed, Map<String, Shape> shapes) {
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager(Device.cpu())) {
            LinkedHashMap<String, NDArray> arrays = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e : shapes.entrySet()) {
                arrays.put(e.getKey(), m.create(values(seed, e.getKey(), (int) e.getValue().size()), e.getValue()));
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), arrays, Map.of());
        }
    }

    /**
     * SplitMix64 uniforms: U(-0.5, 0.5) for matrices, U(-0.1, 0.1) for biases and LayerNorm
     * biases, 1 + U(-0.2, 0.2) for LayerNorm weights (judge_reference.py's {@code values}).
     */
    static float[] values(long seed, String name, int n) {
        double scale;
        double offset = 0;
        if (name.endsWith("LayerNorm.weight")) {
            scale = 0.2;
            offset = 1;
        } else if (name.endsWith(".bias")) {
            scale = 0.1;
        } else {
            scale = 0.5;
        }
        long state = seed * 1000003L + name.hashCode();
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z = z ^ (z >>> 31);
            double u = (z >>> 11) * 0x1.0p-53;
            out[i] = (float) ((2 * u - 1) * scale + offset);
        }
        return out;
    }

    /** A BERT-style WordPiece tokenizer.json: lower-casing normalizer, and BERT's or RoBERTa's template. */
    static void writeTokenizer(Path dir, boolean roberta) throws IOException {
        List<String> specials = roberta ? ROBERTA_SPECIALS : BERT_SPECIALS;
        String cls = specials.get(roberta ? 0 : 2);
        String sep = specials.get(roberta ? 2 : 3);
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < specials.size(); i++) {
            added.addObject().put("id", i).put("content", specials.get(i)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putObject("normalizer").put("type", "BertNormalizer").put("clean_text", true)
                .put("handle_chinese_chars", true).putNull("strip_accents").put("lowercase", true);
        root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        ObjectNode post = root.putObject("post_processor");
        if (roberta) {
            post.put("type", "RobertaProcessing");
            post.putArray("sep").add(sep).add(2);
            post.putArray("cls").add(cls).add(0);
            post.put("trim_offsets", true).put("add_prefix_space", false);
        } else {
            post.put("type", "TemplateProcessing");
            ArrayNode single = post.putArray("single");
            special(single, cls, 0);
            sequence(single, "A", 0);
            special(single, sep, 0);
            ArrayNode pair = post.putArray("pair");
            special(pair, cls, 0);
            sequence(pair, "A", 0);
            special(pair, sep, 0);
            sequence(pair, "B", 1);
            special(pair, sep, 1);
            ObjectNode tokens = post.putObject("special_tokens");
            for (String t : List.of(cls, sep)) {
                ObjectNode o = tokens.putObject(t).put("id", t);
                o.putArray("ids").add(specials.indexOf(t));
                o.putArray("tokens").add(t);
            }
        }
        root.putObject("decoder").put("type", "WordPiece").put("prefix", "##").put("cleanup", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "WordPiece").put("unk_token", specials.get(roberta ? 3 : 1))
                .put("continuing_subword_prefix", "##").put("max_input_chars_per_word", 100);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < specials.size(); i++) {
            vocab.put(specials.get(i), i);
        }
        for (int i = 0; i < WORDS.size(); i++) {
            vocab.put(WORDS.get(i), specials.size() + i);
        }
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
    }

    private static void special(ArrayNode template, String id, int type) {
        template.addObject().putObject("SpecialToken").put("id", id).put("type_id", type);
    }

    private static void sequence(ArrayNode template, String id, int type) {
        template.addObject().putObject("Sequence").put("id", id).put("type_id", type);
    }
}
