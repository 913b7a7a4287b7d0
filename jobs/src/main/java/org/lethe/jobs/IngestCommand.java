package org.lethe.jobs;

import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.job.JobResult;
import org.lethe.data.IngestJob;
import org.lethe.data.IngestRequest;
import org.lethe.data.IngestedDataset;
import org.lethe.store.TableStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lethe ingest}: corpora to the examples / memberships / rejects tables. */
@Command(name = "ingest", mixinStandardHelpOptions = true,
    description = {
        "Ingest a corpus into the examples, memberships, rejects (and refusals) tables.",
        "tofu: a folder in the TOFU layout (full, forgetXX, retainXX, holdoutXX, *_perturbed, real_authors*,",
        "world_facts*, idontknow.jsonl; other files and sub-folders are skipped and listed). qa: JSONL/JSON/",
        "Parquet/CSV question/answer files (lethe.ingest.qa.*). text: raw documents (.txt files, or JSONL",
        "with a text field) cut by Spark NLP into passages of at most lethe.ingest.text.max_passage_tokens",
        "model tokens (needs --model). Every input row becomes one membership or one reject with its reason;",
        "with --strict any reject fails the job and nothing is written. Prints a JSON summary. The run id",
        "defaults to ingest-<dataset>."})
public final class IngestCommand extends JobCommand {

    @Option(names = "--format", required = true, paramLabel = "tofu|qa|text", description = "Input layout.")
    private String format;

    @Option(names = "--input", required = true, paramLabel = "PATH", description = "Input folder or file.")
    private String input;

    @Option(names = "--dataset", required = true, paramLabel = "NAME", description = "Dataset name ([A-Za-z0-9._-]+).")
    private String dataset;

    @Option(names = "--model", paramLabel = "DIR",
        description = "Model directory whose tokenizer encodes the samples (TOFU's template, lethe.data.template.*);"
            + " without it rows are limited by characters (lethe.ingest.max_chars).")
    private String model;

    @Option(names = "--split", paramLabel = "NAME", description = "qa, text: the split of every row (default: the file stem).")
    private String split;

    @Option(names = "--strict", description = "Fail (no tables written) when any row is rejected.")
    private boolean strict;

    @Override
    protected String job() {
        return "ingest";
    }

    @Override
    protected String defaultRunId() {
        return IngestedDataset.defaultRun(dataset);
    }

    @Override
    protected JobResult runJob(LetheConfig config, SparkSession spark, TableStore store, String runId) {
        IngestRequest request = IngestRequest.of(config, IngestJob.Format.parse(format), input, dataset, model, strict,
                split);
        IngestJob.Summary summary = new IngestJob(spark, store).run(request, runId);
        return JobResult.of(summary.toJson(), model, summary.dataFingerprint());
    }
}
