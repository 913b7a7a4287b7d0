package org.lethe.demo;

import org.lethe.config.LetheConfig;
import org.lethe.data.IngestJob;
import org.lethe.data.IngestRequest;
import org.lethe.eval.EvaluateRequest;
import org.lethe.finetune.FinetuneRequest;
import org.lethe.job.JobRequest;
import org.lethe.stats.StatsRequest;
import org.lethe.unlearn.UnlearnRequest;

import java.nio.file.Path;
import java.util.List;

/**
 * A validated {@code demo} request: the preset ({@code lethe.demo.<preset>.*}) and the requests of
 * the jobs the demo runs, derived from the same config with the preset's values set, so that each
 * inner run records exactly the config {@code --set} of those values would give.
 *
 * @param provenance the config this request was built from (the demo's and its ingest's runs rows)
 */
public record DemoRequest(String name, Preset preset, LetheConfig provenance) implements JobRequest {

    /** The dataset name the demo ingests its benchmark as. */
    public static final String DATASET = "synth";

    /**
     * One preset: benchmark size (authors x questions; forget10 = 10% of the authors), the model
     * preset trained from scratch, the fine-tuning and unlearning settings, the methods, and the
     * evaluation's generation length.
     */
    public record Preset(int authors, int questions, long seed, int vocabSize, String modelPreset, int finetuneEpochs,
            int finetuneBatchSize, double finetuneLr, int finetuneWarmupSteps, List<String> methods,
            int unlearnEpochs, int unlearnBatchSize, double unlearnLr, int evalMaxNewTokens,
            boolean evalGradientNorm, boolean stats) {
        public Preset {
            methods = List.copyOf(methods);
        }
    }

    /** Reads preset {@code name} ({@code lethe.demo.<name>.*}); an unknown preset is an error naming it. */
    public static DemoRequest of(LetheConfig config, String name) {
        if (!name.matches("[a-z]+") || !config.has("demo." + name)) {
            throw new IllegalArgumentException("--preset: unknown '" + name + "' (expected quick or full)");
        }
        String p = "demo." + name + ".";
        Preset preset = new Preset(config.getInt(p + "authors"), config.getInt(p + "questions"),
                config.getLong(p + "seed"), config.getInt(p + "vocab_size"), config.getString(p + "model_preset"),
                config.getInt(p + "finetune_epochs"), config.getInt(p + "finetune_batch_size"),
                config.getDouble(p + "finetune_lr"), config.getInt(p + "finetune_warmup_steps"),
                config.getStringList(p + "methods"), config.getInt(p + "unlearn_epochs"),
                config.getInt(p + "unlearn_batch_size"), config.getDouble(p + "unlearn_lr"),
                config.getInt(p + "eval_max_new_tokens"), config.getBoolean(p + "eval_gradient_norm"),
                config.getBoolean(p + "stats"));
        return new DemoRequest(name, preset, config);
    }

    /** The benchmark under {@code bench}, ingested strictly as TOFU-layout dataset {@link #DATASET}. */
    public IngestRequest ingest(Path bench) {
        return IngestRequest.of(provenance, IngestJob.Format.TOFU, bench.toString(), DATASET, null, true, null);
    }

    /** Training a fresh {@code preset.modelPreset} model on {@code splits}, checkpoints under {@code output}. */
    public FinetuneRequest finetune(Path tokenizer, List<String> splits, Path output) {
        return FinetuneRequest.builder(provenance).dataset(DATASET).tokenizer(tokenizer.toString())
                .initPreset(preset.modelPreset()).initSeed(0).epochs(preset.finetuneEpochs())
                .batchSize(preset.finetuneBatchSize()).lr(preset.finetuneLr())
                .warmupSteps(preset.finetuneWarmupSteps()).resume(true).splits(splits).output(output.toString())
                .build();
    }

    /** Evaluating any of the demo's models. */
    public EvaluateRequest evaluate() {
        return EvaluateRequest.builder(provenance).dataset(DATASET).maxNewTokens(preset.evalMaxNewTokens())
                .miaGradientNorm(preset.evalGradientNorm()).build();
    }

    /** The target's statistics on forget and retain (no holdout split in the benchmark). */
    public StatsRequest stats() {
        return StatsRequest.builder(provenance).dataset(DATASET).holdoutSplit("").build();
    }

    /** Unlearning the forget split from {@code model} with {@code method}, checkpoints under {@code output}. */
    public UnlearnRequest unlearn(String method, String model, Path output) {
        return UnlearnRequest.builder(provenance).dataset(DATASET).model(model).method(method)
                .epochs(preset.unlearnEpochs()).batchSize(preset.unlearnBatchSize()).lr(preset.unlearnLr())
                .output(output.toString()).build();
    }
}
