package org.lethe.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.lethe.model.io.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * A model's tokenizer, loaded from a local {@code tokenizer.json} with DJL's Hugging Face
 * tokenizers binding (never from the hub), with the model's BOS / EOS ids.
 */
public final class LmTokenizer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;
    private final int bosId;
    private final int eosId;
    private final int vocabularySize;

    private LmTokenizer(HuggingFaceTokenizer tokenizer, Path file, int bosId, int eosId, int vocab) {
        this.tokenizer = tokenizer;
        this.file = file;
        this.bosId = bosId;
        this.eosId = eosId;
        this.vocabularySize = vocab;
    }

    /**
     * Loads {@code tokenizer.json} and checks that every id it can produce fits the model's
     * embedding table; the error names the file, the largest id and the config's vocab_size.
     */
    public static LmTokenizer load(Path file, LlamaConfig config) {
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file + ": not found (the model directory needs a"
                    + " Hugging Face tokenizer.json)");
        }
        int maxId = maxTokenId(file);
        if (maxId >= config.vocabSize()) {
            throw new ModelFormatException(file + ": the tokenizer produces ids up to " + maxId
                    + " but the model's vocab_size is " + config.vocabSize()
                    + " (tokenizer and model do not belong together)");
        }
        try {
            HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(file,
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
            return new LmTokenizer(tok, file, config.bosTokenId(), config.eosTokenId(), maxId + 1);
        } catch (IOException | RuntimeException e) {
            throw new ModelFormatException(file + ": cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    /** Number of ids a tokenizer.json can produce (largest id + 1): the smallest vocab_size that fits it. */
    public static int vocabularySize(Path file) {
        return maxTokenId(file) + 1;
    }

    /** The largest id in the tokenizer's model vocabulary and added tokens. */
    static int maxTokenId(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        JsonNode vocab = root.path("model").path("vocab");
        int max = -1;
        if (vocab.isObject()) { // BPE / WordPiece: token -> id
            for (Iterator<JsonNode> it = vocab.elements(); it.hasNext(); ) {
                max = Math.max(max, it.next().asInt());
            }
        } else if (vocab.isArray()) { // Unigram: [token, score] list, id = index
            max = vocab.size() - 1;
        } else {
            throw new ModelFormatException(file + ": missing key 'model.vocab'");
        }
        for (JsonNode added : root.path("added_tokens")) {
            max = Math.max(max, added.path("id").asInt(-1));
        }
        return max;
    }

    /** Token ids of {@code text}, with BOS first when {@code addBos}; no EOS, no truncation. */
    public long[] encode(String text, boolean addBos) {
        long[] ids = text.isEmpty() ? new long[0] : tokenizer.encode(text, false, false).getIds();
        if (!addBos) {
            return ids;
        }
        long[] withBos = new long[ids.length + 1];
        withBos[0] = bosId;
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    /** Text of the ids, special tokens (BOS, EOS, ...) skipped. */
    public String decode(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    /** Number of ids the tokenizer can produce (largest id + 1). */
    public int vocabularySize() {
        return vocabularySize;
    }

    /** The tokenizer.json this tokenizer was loaded from. */
    public Path file() {
        return file;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
