package org.lethe.data;

import org.lethe.config.LetheConfig;
import org.lethe.job.JobRequest;
import org.lethe.store.RunIds;
import org.lethe.text.RawDocuments;

import java.util.Locale;

/**
 * What an {@code ingest} run reads and how: the command's values with every {@code lethe.ingest.*}
 * setting and the prompt template samples are encoded with.
 *
 * @param model model directory whose tokenizer stores token ids (null: validate by characters)
 * @param split for {@code qa} and {@code text}: the split of every row (null: the file stem)
 * @param maxChars without a model: the longest question + answer, in characters
 * @param maxTokens with a model: the longest encoded sample, in tokens
 * @param wholeFileMaxBytes JSON(L) files up to this size are read whole, in one Spark job
 * @param rowsPerAuthor TOFU rows per author in {@code full}, unless the input's manifest says
 * @param textFormat {@code text}: how documents are read ({@code ingest.text.input_format} resolved)
 * @param provenance the config this request was built from (for the {@code runs} row only)
 */
public record IngestRequest(IngestJob.Format format, String input, String dataset, String model, boolean strict,
        String split, int maxChars, int maxTokens, long wholeFileMaxBytes, int rowsPerAuthor, String questionField,
        String answerField, RawDocuments.Format textFormat, String textField, int maxPassageTokens,
        PromptTemplate template, LetheConfig provenance) implements JobRequest {

    /**
     * The request to ingest {@code input} as {@code dataset} in {@code format} under {@code
     * config}'s {@code lethe.ingest.*}; {@code model}, {@code split} may be null (see the record).
     */
    public static IngestRequest of(LetheConfig config, IngestJob.Format format, String input, String dataset,
            String model, boolean strict, String split) {
        RunIds.validate(dataset, "--dataset");
        if (format == IngestJob.Format.TEXT && model == null) {
            throw new IllegalArgumentException("--format text needs --model DIR: passages are cut by model tokens");
        }
        String inputFormat = config.getString("ingest.text.input_format");
        boolean jsonl = inputFormat.equals("jsonl")
                || (inputFormat.equals("auto") && input.toLowerCase(Locale.ROOT).endsWith(".jsonl"));
        return new IngestRequest(format, input, dataset, model, strict, split, config.getInt("ingest.max_chars"),
                config.getInt("ingest.max_tokens"), config.getLong("ingest.whole_file_max_bytes"),
                config.getInt("ingest.tofu.rows_per_author"), config.getString("ingest.qa.question_field"),
                config.getString("ingest.qa.answer_field"),
                jsonl ? RawDocuments.Format.JSONL : RawDocuments.Format.TEXT, config.getString("ingest.text.field"),
                config.getInt("ingest.text.max_passage_tokens"), PromptTemplate.of(config), config);
    }
}
