package org.lethe.eval;

import org.lethe.config.LetheConfig;
import org.lethe.data.IngestedDataset;
import org.lethe.data.PromptTemplate;
import org.lethe.job.JobRequest;
import org.lethe.storage.LocalModels;
import org.lethe.job.RequestBuilder;
import org.lethe.model.ModelSettings;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The {@code evaluate} job's typed request: every {@code lethe.eval.*} setting it reads, with the
 * model settings and prompt template, validated by {@link #of} before any Spark work.
 *
 * @param data the eval dataset and its ingest run
 * @param sets eval set role -> split of {@code data}, in {@link #ROLES} order; unset roles are absent
 * @param maxSamples the first items (by file line) of each set that are evaluated
 * @param maxNewTokens greedy generation length (0: none)
 * @param step the step evaluated, or -1: the checkpoint's ({@code trainer_state.json}, else 0)
 * @param miaReferenceModel the reference model directory of the reference attack, or null
 * @param extraSets the MUSE sets ({@code lethe.eval.muse.*_split}) then the {@code lethe.eval.mcq_sets}
 * @param provenance the config this request was built from (the runs row's config and fingerprint)
 */
public record EvaluateRequest(IngestedDataset.Ref data, Map<String, String> sets, int maxSamples, int maxNewTokens,
        int batchSize, int partitions, long step, double miaK, String miaReferenceModel, boolean miaGradientNorm,
        boolean rougeStemming, Judges judges, Muse muse, List<ExtraSet> extraSets, Select select,
        ModelSettings model, PromptTemplate template, LetheConfig provenance) implements JobRequest {

    /** The roles of the eval sets, in {@code lethe.eval.sets} order. */
    public static final List<String> ROLES = List.of("forget", "retain", "real_authors", "world_facts", "holdout");

    private static final Pattern SET_NAME = Pattern.compile("[a-z][a-z0-9_]*");

    /**
     * The request of {@code config}'s {@code lethe.eval.*}, {@code lethe.model.*} and {@code
     * lethe.data.template.*}; fails naming the key when a setting is invalid or no eval set is
     * configured. Checks on the ingested data (empty sets, too few few-shot examples) are the
     * job's, when it reads them.
     */
    public static EvaluateRequest of(LetheConfig config) {
        String dataset = config.getString("eval.dataset");
        if (dataset.isBlank()) {
            throw new IllegalArgumentException("lethe.eval.dataset must be set");
        }
        IngestedDataset.Ref data = IngestedDataset.Ref.of(dataset, config.getString("eval.data_run_id"));
        String reference = config.getString("eval.mia_reference_model");
        if (!reference.isBlank() && !LocalModels.hasFile(reference, "config.json")) {
            throw new IllegalArgumentException("lethe.eval.mia_reference_model: " + reference
                    + " is not a model directory (no config.json)");
        }
        int maxSamples = positive("eval.max_samples", config.getInt("eval.max_samples"));
        int batchSize = positive("eval.batch_size", config.getInt("eval.batch_size"));
        int partitions = positive("eval.partitions", config.getInt("eval.partitions"));
        int maxNew = config.getInt("eval.max_new_tokens");
        if (maxNew < 0) {
            throw new IllegalArgumentException("lethe.eval.max_new_tokens must be >= 0, got " + maxNew);
        }
        double k = config.getDouble("eval.mia_k");
        if (!(k > 0 && k <= 1)) {
            throw new IllegalArgumentException("lethe.eval.mia_k must be in (0, 1], got " + k);
        }
        long step = config.getLong("eval.step");
        if (step < -1) {
            throw new IllegalArgumentException("lethe.eval.step must be >= 0 (or -1: the checkpoint's), got " + step);
        }
        Judges judges = Judges.of(config);
        Map<String, String> sets = new LinkedHashMap<>();
        for (String role : ROLES) {
            String split = config.getString("eval.sets." + role);
            if (!split.isBlank()) {
                sets.put(role, split);
            }
        }
        // The MUSE settings are checked whether or not a MUSE set is configured, as they always were.
        MuseSettings museSettings = MuseSettings.of(config);
        List<ExtraSet> extra = ExtraSet.of(config, data);
        Muse muse = Muse.of(config, museSettings, data, extra);
        if (sets.isEmpty() && extra.isEmpty()) {
            throw new IllegalArgumentException("lethe.eval.sets, lethe.eval.muse, lethe.eval.mcq_sets: no eval set is"
                    + " configured");
        }
        return new EvaluateRequest(data, Collections.unmodifiableMap(sets), maxSamples, maxNew, batchSize,
                partitions, step, k, reference.isBlank() ? null : reference, config.getBoolean("eval.mia_gradient_norm"),
                config.getBoolean("eval.rouge_stemming"), judges, muse, List.copyOf(extra), Select.of(config),
                ModelSettings.of(config), PromptTemplate.of(config), config);
    }

    /** A request derived from {@code base} with typed values set on top (how demo, continual and relearn evaluate). */
    public static Builder builder(LetheConfig base) {
        return new Builder(base);
    }

    /** A builder of this request's config, to derive another request from it. */
    public Builder toBuilder() {
        return new Builder(provenance);
    }

    /** Derives an {@link EvaluateRequest}: the setters are {@code lethe.eval.*} keys. */
    public static final class Builder extends RequestBuilder<EvaluateRequest, Builder> {

        private Builder(LetheConfig base) {
            super(base);
        }

        /** {@code lethe.eval.dataset}. */
        public Builder dataset(String dataset) {
            return set("eval.dataset", dataset);
        }

        /** {@code lethe.eval.data_run_id} (empty: the dataset's default ingest run). */
        public Builder dataRunId(String dataRunId) {
            return set("eval.data_run_id", dataRunId);
        }

        /** {@code lethe.eval.max_new_tokens}. */
        public Builder maxNewTokens(int maxNewTokens) {
            return set("eval.max_new_tokens", maxNewTokens);
        }

        /** {@code lethe.eval.mia_gradient_norm}. */
        public Builder miaGradientNorm(boolean miaGradientNorm) {
            return set("eval.mia_gradient_norm", miaGradientNorm);
        }

        /** {@code lethe.eval.step} (-1: the checkpoint's). */
        public Builder step(long step) {
            return set("eval.step", step);
        }

        /** {@code lethe.eval.max_samples}. */
        public Builder maxSamples(int maxSamples) {
            return set("eval.max_samples", maxSamples);
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected EvaluateRequest build(LetheConfig derived) {
            return of(derived);
        }
    }

    /**
     * The judge models (local Hugging Face directories) of the cosine-similarity and entailment
     * metrics.
     *
     * @param encoder the sentence encoder's directory, or null: cosine_similarity is missing
     * @param nli the NLI cross-encoder's directory, or null: entailment is missing
     */
    public record Judges(String encoder, String nli) {

        /** {@code lethe.eval.judges.*}: each directory, when set, must hold a model. */
        public static Judges of(LetheConfig config) {
            String encoder = config.getString("eval.judges.encoder");
            String nli = config.getString("eval.judges.nli");
            for (String[] judge : new String[][] {{"eval.judges.encoder", encoder}, {"eval.judges.nli", nli}}) {
                if (!judge[1].isBlank() && !LocalModels.hasFile(judge[1], "config.json")) {
                    throw new IllegalArgumentException("lethe." + judge[0] + ": " + judge[1]
                            + " is not a model directory (no config.json)");
                }
            }
            return new Judges(encoder.isBlank() ? null : encoder, nli.isBlank() ? null : nli);
        }
    }

    /**
     * MUSE's KnowMem few-shot examples and generation lengths.
     *
     * @param fewShot how many in-context QA pairs prefix a KnowMem prompt
     * @param fewShotSplit where they come from, or null: from each KnowMem set itself, whose first
     *     {@code fewShot} items are then not scored (also null when no KnowMem set is configured)
     */
    public record Muse(MuseMetrics.Settings settings, int fewShot, Source fewShotSplit) {

        /** Whether KnowMem sets take their few-shot examples from their own first items. */
        public boolean selfFewShot() {
            return fewShotSplit == null;
        }

        /**
         * {@code lethe.eval.muse.*} but the set splits (those are {@link ExtraSet}s). {@code
         * few_shot_split} is read only when a KnowMem set is configured, as the job always did.
         */
        static Muse of(LetheConfig config, MuseSettings settings, IngestedDataset.Ref data, List<ExtraSet> extraSets) {
            String fewSpec = config.getString("eval.muse.few_shot_split");
            boolean knowMem = extraSets.stream().anyMatch(s -> s.kind().equals(ExtraSet.KNOWMEM));
            Source fewShotSplit = fewSpec.isBlank() || !knowMem ? null
                    : Source.parse(fewSpec, "eval.muse.few_shot_split", data);
            return new Muse(settings.settings(), settings.fewShot(), fewShotSplit);
        }
    }

    /**
     * The numeric {@code lethe.eval.muse.*} settings, read apart from {@link Muse} so that they are
     * checked before the set splits, as the job always checked them.
     */
    record MuseSettings(MuseMetrics.Settings settings, int fewShot) {

        static MuseSettings of(LetheConfig config) {
            int promptTokens = positive("eval.muse.prompt_tokens", config.getInt("eval.muse.prompt_tokens"));
            int continuationTokens = positive("eval.muse.continuation_tokens",
                    config.getInt("eval.muse.continuation_tokens"));
            int answerTokens = positive("eval.muse.answer_tokens", config.getInt("eval.muse.answer_tokens"));
            int fewShot = config.getInt("eval.muse.few_shot");
            if (fewShot < 0) {
                throw new IllegalArgumentException("lethe.eval.muse.few_shot must be >= 0, got " + fewShot);
            }
            return new MuseSettings(new MuseMetrics.Settings(promptTokens, continuationTokens, answerTokens), fewShot);
        }
    }

    /** A split of an ingested dataset: {@code [DATASET:]SPLIT} of a MUSE or multiple-choice setting. */
    public record Source(IngestedDataset.Ref data, String split) {

        /**
         * {@code spec} of config key {@code key}: SPLIT of the eval dataset {@code evalData}, or
         * DATASET:SPLIT of another dataset's default ingest run.
         */
        static Source parse(String spec, String key, IngestedDataset.Ref evalData) {
            int colon = spec.indexOf(':');
            if (colon < 0) {
                return new Source(evalData, spec);
            }
            String other = spec.substring(0, colon);
            String split = spec.substring(colon + 1);
            if (other.isBlank() || split.isBlank()) {
                throw new IllegalArgumentException("lethe." + key + ": '" + spec + "': expected SPLIT or DATASET:SPLIT");
            }
            return new Source(IngestedDataset.Ref.of(other, null), split);
        }
    }

    /**
     * One configured extra eval set: {@code kind} (verbmem, knowmem, mcq), the {@code split} column
     * its rows get ({@code role}), where its items are, and the config key that named it.
     */
    public record ExtraSet(String kind, String role, Source source, String key) {

        /** Kinds of the extra eval sets ({@code lethe.eval.muse}, {@code lethe.eval.mcq_sets}). */
        public static final String VERBMEM = "verbmem";
        public static final String KNOWMEM = "knowmem";
        public static final String MCQ = "mcq";

        /** The set's name in the job's item counts, {@code <kind>_<role>}. */
        public String name() {
            return kind + "_" + role;
        }

        /** The MUSE sets of {@code lethe.eval.muse.*_split}, then the {@code lethe.eval.mcq_sets}, in config order. */
        public static List<ExtraSet> of(LetheConfig config, IngestedDataset.Ref data) {
            List<ExtraSet> sets = new ArrayList<>();
            String[][] museKeys = {{VERBMEM, EvalTables.FORGET, "eval.muse.verbmem_split"},
                {KNOWMEM, EvalTables.FORGET, "eval.muse.knowmem_split"},
                {KNOWMEM, EvalTables.RETAIN, "eval.muse.knowmem_retain_split"}};
            for (String[] m : museKeys) {
                String spec = config.getString(m[2]);
                if (!spec.isBlank()) {
                    sets.add(new ExtraSet(m[0], m[1], Source.parse(spec, m[2], data), m[2]));
                }
            }
            Set<String> names = new HashSet<>();
            for (String entry : config.getStringList("eval.mcq_sets")) {
                int eq = entry.indexOf('=');
                String spec = eq < 0 ? entry : entry.substring(eq + 1);
                Source source = Source.parse(spec, "eval.mcq_sets", data);
                String name = eq < 0 ? source.split() : entry.substring(0, eq);
                if (!SET_NAME.matcher(name).matches() || ROLES.contains(name)) {
                    throw new IllegalArgumentException("lethe.eval.mcq_sets: '" + entry + "': the set's name '" + name
                            + "' must be snake_case [a-z][a-z0-9_]* and not one of " + ROLES
                            + " (name it: NAME=[DATASET:]SPLIT)");
                }
                if (!names.add(name)) {
                    throw new IllegalArgumentException("lethe.eval.mcq_sets: the set name '" + name + "' is given twice");
                }
                sets.add(new ExtraSet(MCQ, name, source, "eval.mcq_sets"));
            }
            return sets;
        }
    }

    /**
     * How {@code evaluate --select best} picks a step: the highest {@code metric} among the steps
     * whose model utility is at least {@code minUtilityRatio} x the latest of {@code
     * utilityReferenceRun} (null: no utility condition).
     */
    public record Select(String metric, double minUtilityRatio, String utilityReferenceRun) {

        /** {@code lethe.eval.select.*}. */
        public static Select of(LetheConfig config) {
            String reference = config.getString("eval.select.utility_reference_run");
            return new Select(config.getString("eval.select.metric"), config.getDouble("eval.select.min_utility_ratio"),
                    reference.isBlank() ? null : reference);
        }
    }

    private static int positive(String key, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException("lethe." + key + " must be > 0, got " + value);
        }
        return value;
    }
}
