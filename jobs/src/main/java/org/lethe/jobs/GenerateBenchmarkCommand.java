package org.lethe.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.lethe.config.LetheConfig;
import org.lethe.data.BenchmarkSummary;
import org.lethe.data.FictitiousAuthors;
import org.lethe.text.BpeTrainer;
import org.lethe.text.ByteLevelTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code lethe generate-benchmark}: the deterministic, TOFU-shaped fictitious-author benchmark. */
@Command(name = "generate-benchmark", mixinStandardHelpOptions = true,
    description = {
        "Write a deterministic fictitious-author benchmark in TOFU's layout:",
        "full, forget01/05/10, retain99/95/90, holdout01/05/10, the _perturbed files,",
        "real_authors, world_facts, idontknow; plus general.jsonl (the invented",
        "world's general knowledge: train on full.jsonl + general.jsonl),",
        "manifest.json and a byte-level BPE tokenizer.json fitted to all the texts.",
        "The same seed gives byte-identical files. Prints one JSON object."})
public final class GenerateBenchmarkCommand extends LetheCommand {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--out", required = true, paramLabel = "DIR",
        description = "Directory to write (created; files of the same names are replaced).")
    private Path out;

    @Option(names = "--authors", defaultValue = "" + FictitiousAuthors.DEFAULT_AUTHORS, paramLabel = "N",
        description = "Authors in full.jsonl, at least 2 (default: ${DEFAULT-VALUE}); holdout authors come on top.")
    private int authors;

    @Option(names = "--questions", defaultValue = "" + FictitiousAuthors.DEFAULT_QUESTIONS, paramLabel = "Q",
        description = "Questions per author, 1.." + FictitiousAuthors.MAX_QUESTIONS
            + " (default: ${DEFAULT-VALUE}); --authors 200 --questions 20 gives TOFU's sizes.")
    private int questions;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Seed of every fact (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--vocab-size", defaultValue = "" + BpeTrainer.DEFAULT_VOCAB_SIZE, paramLabel = "V",
        description = "Target vocabulary of tokenizer.json, at least 259 (default: ${DEFAULT-VALUE}).")
    private int vocabSize;

    @Override
    protected void run(LetheConfig config) throws Exception {
        if (authors < 2) {
            throw new ParameterException(spec.commandLine(), "--authors " + authors
                    + ": at least 2 are needed (the forget and retain splits each need one)");
        }
        if (questions < 1 || questions > FictitiousAuthors.MAX_QUESTIONS) {
            throw new ParameterException(spec.commandLine(), "--questions " + questions + ": expected 1.."
                    + FictitiousAuthors.MAX_QUESTIONS);
        }
        if (vocabSize < ByteLevelTokenizer.VOCAB_SIZE) {
            throw new ParameterException(spec.commandLine(), "--vocab-size " + vocabSize
                    + ": expected at least 259 (3 specials + 256 bytes)");
        }
        BenchmarkSummary summary = FictitiousAuthors.generate(seed, authors, questions).write(out, vocabSize);
        ObjectNode result = JSON.createObjectNode();
        result.put("out", out.toAbsolutePath().toString());
        result.put("generator_version", FictitiousAuthors.GENERATOR_VERSION);
        result.setAll(summary.toJson());
        out().println(result.toString());
    }
}
