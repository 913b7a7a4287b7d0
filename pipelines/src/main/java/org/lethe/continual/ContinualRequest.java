package org.lethe.continual;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.lethe.config.LetheConfig;
import org.lethe.data.IngestedDataset;
import org.lethe.eval.EvaluateRequest;
import org.lethe.finetune.FinetuneRequest;
import org.lethe.job.JobRequest;
import org.lethe.storage.LocalModels;
import org.lethe.store.Fingerprints;
import org.lethe.unlearn.Methods;
import org.lethe.unlearn.UnlearnRequest;
import org.lethe.unlearn.UnlearnSpec;

import java.util.List;
import java.util.Map;

/**
 * A validated {@code continual} request ({@code lethe.continual.*}): which ingested dataset the
 * queued requests select from, the model the lineage starts from, how ref_model and retain-only
 * runs are chosen; and how each queued request's jobs are derived from the same config (its
 * method and stored overrides, then what continual fixes), so their runs record exactly the
 * config earlier versions recorded.
 *
 * @param base the model the lineage starts from
 * @param refPrevious ref_model = the checkpoint a request starts from (else the base model)
 * @param retainRuns whether a retain-only model is trained per cumulative forget set
 * @param trainSplits the splits the base model was trained on
 * @param maxAttempts how many runs may attempt a request before it is FAILED for good
 * @param leaseTtl how long the lineage's lease keeps other runs out unless its holder renews it
 * @param provenance the config this request was built from (the continual run's row)
 */
public record ContinualRequest(IngestedDataset.Ref data, String base, boolean refPrevious, boolean retainRuns,
        List<String> trainSplits, int maxAttempts, java.time.Duration leaseTtl, LetheConfig provenance)
        implements JobRequest {

    private static final ObjectMapper JSON = new ObjectMapper();

    public ContinualRequest {
        trainSplits = List.copyOf(trainSplits);
    }

    /** Reads and checks {@code lethe.continual.*}; errors name the key. */
    public static ContinualRequest of(LetheConfig config) {
        String dataset = config.getString("continual.dataset");
        if (dataset.isBlank()) {
            throw new IllegalArgumentException("lethe.continual.dataset must name the ingested dataset requests select from");
        }
        String base = config.getString("continual.model");
        if (base.isBlank() || !LocalModels.hasFile(base, "config.json")) {
            throw new IllegalArgumentException("lethe.continual.model: '" + base + "' is not a model directory (no"
                    + " config.json); it is the model the lineage starts from");
        }
        String ref = config.getString("continual.ref_model");
        if (!ref.equals("previous") && !ref.equals("original")) {
            throw new IllegalArgumentException("lethe.continual.ref_model must be previous or original, got '" + ref + "'");
        }
        String retain = config.getString("continual.retain_run");
        if (!retain.equals("auto") && !retain.equals("none")) {
            throw new IllegalArgumentException("lethe.continual.retain_run must be auto or none, got '" + retain + "'");
        }
        List<String> splits = config.getStringList("continual.train_splits");
        if (retain.equals("auto") && splits.isEmpty()) {
            throw new IllegalArgumentException("lethe.continual.train_splits is empty: name the splits the base model was"
                    + " trained on (retain-only models train on them minus the forgotten samples)");
        }
        int maxAttempts = config.getInt("continual.max_attempts");
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("lethe.continual.max_attempts must be at least 1, got " + maxAttempts);
        }
        int ttl = config.getInt("continual.lease_ttl_seconds");
        if (ttl < 1) {
            throw new IllegalArgumentException("lethe.continual.lease_ttl_seconds must be at least 1, got " + ttl);
        }
        return new ContinualRequest(IngestedDataset.Ref.of(dataset, config.getString("continual.data_run_id")), base,
                ref.equals("previous"), retain.equals("auto"), splits, maxAttempts, java.time.Duration.ofSeconds(ttl),
                config);
    }

    /** The unlearning and evaluation of one queued request, under one config. */
    public record Jobs(UnlearnRequest unlearn, EvaluateRequest evaluate) {}

    /**
     * The jobs of queued request {@code r} starting from {@code model} with {@code refModel}: this
     * config, then the request's method and stored overrides, then the model, ref_model and data
     * continual fixes. The evaluation reads the same dataset, under the same config.
     */
    public Jobs jobs(Requests.Request r, String model, String refModel) {
        Submission.checkOverrides(r.overrides()); // rows stored before the allow-list are checked when they run
        // The eval keys first: stored overrides are unlearn.* / lora.* only, so this is the same config.
        LetheConfig evalOnData = provenance.with(Map.of("eval.dataset", data.dataset(), "eval.data_run_id",
                data.dataRun()));
        UnlearnRequest unlearn = UnlearnRequest.builder(evalOnData).method(r.method()).overrides(r.overrides())
                .model(model).refModel(refModel).dataset(data.dataset()).dataRunId(data.dataRun()).resume(true)
                .build();
        return new Jobs(unlearn, EvaluateRequest.of(unlearn.provenance()));
    }

    /** The retain-only model's training for {@code jobs}' request: the train splits, resumable. */
    public FinetuneRequest retainTraining(Jobs jobs) {
        return FinetuneRequest.builder(jobs.unlearn().provenance()).dataset(data.dataset()).dataRunId(data.dataRun())
                .splits(trainSplits).resume(true).build();
    }

    /**
     * The run id of a retain-only model: a fingerprint of the data it keeps ({@code keptData}) and
     * its training settings ({@code lethe.train}), so a later request (or re-run) with the same data
     * reuses it.
     */
    public static String retainRunId(FinetuneRequest training, String keptData) {
        try {
            String trainJson = JSON.readTree(training.provenance().toJson()).path("lethe").path("train").toString();
            return "retain-" + Fingerprints.sha256(keptData + "\n" + trainJson).substring(0, 16);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a config's JSON did not parse", e);
        }
    }

    /**
     * A request as {@code lethe request} submits it, checked before it is stored: the dataset it
     * selects from, the method, and overrides that name known keys with values of the right types
     * and make valid unlearning settings for the lineage's model (when it is configured).
     */
    public record Submission(IngestedDataset.Ref data, String method, List<String> overrides) {
        public Submission {
            overrides = List.copyOf(overrides);
        }

        /**
         * Checks the request and resolves its overrides: each becomes {@code key=<JSON value>} (e.g.
         * {@code unlearn.schedule="cosine"}), what is stored and applied later, so that the stored
         * text means the same on any machine that parses it.
         */
        public static Submission of(LetheConfig config, String method, List<String> overrides) {
            String dataset = config.getString("continual.dataset");
            if (dataset.isBlank()) {
                throw new IllegalArgumentException("lethe.continual.dataset must name the dataset the request selects from");
            }
            Methods.get(method);
            List<String> keys = checkOverrides(overrides);
            LetheConfig c = config.with(overrides).with(Map.of("unlearn.method", method));
            String model = config.getString("continual.model");
            if (!model.isBlank()) {
                // The request's settings for the model; the dataset is continual's, checked when it runs.
                UnlearnSpec.of(c.with(Map.of("unlearn.model", model, "unlearn.ref_model", "")));
            }
            List<String> resolved = new java.util.ArrayList<>();
            for (String key : keys) {
                String entry = key + "=" + c.jsonValue(key);
                resolved.removeIf(e -> e.startsWith(key + "=")); // given twice: the last value, in its place
                resolved.add(entry);
            }
            return new Submission(IngestedDataset.Ref.of(dataset, config.getString("continual.data_run_id")), method,
                    resolved);
        }

        /**
         * The keys of {@code overrides} ({@code key=value}, with or without {@code lethe.}), each
         * checked: on the allow-list {@link #REQUEST_KEYS} and a value without substitutions or
         * includes.
         *
         * @throws IllegalArgumentException naming the override and the key
         */
        public static List<String> checkOverrides(List<String> overrides) {
            List<String> keys = new java.util.ArrayList<>();
            for (String o : overrides) {
                int eq = o.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("--set " + o + ": expected key=value");
                }
                String key = o.substring(0, eq).trim();
                key = key.startsWith(LetheConfig.ROOT + ".") ? key.substring(LetheConfig.ROOT.length() + 1) : key;
                String value = o.substring(eq + 1).trim();
                if (!REQUEST_KEYS.contains(key)) {
                    throw new IllegalArgumentException("--set " + o + ": lethe." + key + " is not a setting a request may"
                            + " change (outputs, roots, models and data are continual's); a request may set "
                            + String.join(", ", new java.util.TreeSet<>(REQUEST_KEYS)));
                }
                if (value.contains("${") || value.matches("(?s)include\\b.*")) {
                    throw new IllegalArgumentException("--set " + o + ": lethe." + key + ": a request's value may not hold"
                            + " a substitution (${...}) or an include: give the value itself");
                }
                keys.add(key);
            }
            return keys;
        }
    }

    /**
     * What a request may set: its method's settings and its schedule, never where it reads or
     * writes (model, ref_model, dataset, splits, output, resume, stats runs are continual's).
     */
    public static final java.util.Set<String> REQUEST_KEYS = java.util.Set.of("unlearn.forget_loss",
            "unlearn.retain_loss", "unlearn.forget_coeff", "unlearn.retain_coeff", "unlearn.params", "unlearn.ref_dtype",
            "unlearn.refusals", "unlearn.epochs", "unlearn.batch_size", "unlearn.micro_batch_size", "unlearn.lr",
            "unlearn.schedule", "unlearn.warmup_steps", "unlearn.weight_decay", "unlearn.max_grad_norm",
            "unlearn.abort_grad_norm", "unlearn.seed", "unlearn.partitions", "unlearn.reduce", "unlearn.layer",
            "unlearn.trainable", "unlearn.checkpoint_every_steps", "unlearn.max_steps", "unlearn.retain_selection",
            "unlearn.skip_forgotten", "lora.rank", "lora.alpha", "lora.target_modules", "lora.seed");
}
