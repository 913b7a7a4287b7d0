package org.lethe.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What {@link FictitiousAuthors#write} wrote: sizes, rows per file and how compactly the fitted
 * tokenizer encodes the answers.
 *
 * @param files rows (lines) per file, in the order written
 * @param answerTokensMean mean tokens per answer of full.jsonl with the fitted tokenizer
 * @param answerBytesMean mean UTF-8 bytes per answer of full.jsonl (tokens with the byte-level tokenizer)
 */
public record BenchmarkSummary(long seed, int authors, int questionsPerAuthor, int holdoutAuthors,
        Map<String, Integer> files, int vocabSize, int merges, double answerTokensMean, double answerBytesMean) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public BenchmarkSummary {
        files = Collections.unmodifiableMap(new LinkedHashMap<>(files));
    }

    /** The summary as JSON (manifest.json and the CLI's result), means rounded to 2 decimals. */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("seed", seed);
        o.put("authors", authors);
        o.put("questions_per_author", questionsPerAuthor);
        o.put("holdout_authors", holdoutAuthors);
        ObjectNode forget = o.putObject("forget_authors");
        for (int p : FictitiousAuthors.SPLITS) {
            forget.put(String.format(Locale.ROOT, "forget%02d", p), FictitiousAuthors.splitAuthors(authors, p));
        }
        FictitiousAuthors.TRAIN_FILES.forEach(o.putArray("train_files")::add);
        ObjectNode counts = o.putObject("files");
        files.forEach(counts::put);
        ObjectNode tok = o.putObject("tokenizer");
        tok.put("file", "tokenizer.json");
        tok.put("vocab_size", vocabSize);
        tok.put("merges", merges);
        tok.put("answer_tokens_mean", round2(answerTokensMean));
        tok.put("answer_bytes_mean", round2(answerBytesMean));
        tok.put("bytes_per_token", round2(answerBytesMean / answerTokensMean));
        return o;
    }

    private static double round2(double x) {
        return Math.round(x * 100) / 100.0;
    }
}
