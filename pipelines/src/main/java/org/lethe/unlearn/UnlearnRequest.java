package org.lethe.unlearn;

import org.lethe.config.LetheConfig;
import org.lethe.data.IngestedDataset;
import org.lethe.job.JobRequest;
import org.lethe.job.RequestBuilder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A validated {@code unlearn} request ({@code lethe.unlearn.*}): the run's resolved settings for
 * its model ({@link UnlearnSpec}) and the ingested dataset it forgets from.
 *
 * @param provenance the config this request was built from (runs row, checkpoints' config_sha256)
 */
public record UnlearnRequest(UnlearnSpec spec, IngestedDataset.Ref data, LetheConfig provenance)
        implements JobRequest {

    /** Reads and checks {@code lethe.unlearn.*} (and the model, LoRA and prompt settings it trains with). */
    public static UnlearnRequest of(LetheConfig config) {
        UnlearnSpec spec = UnlearnSpec.of(config);
        String dataset = config.getString("unlearn.dataset");
        if (dataset.isBlank()) {
            throw new IllegalArgumentException("lethe.unlearn.dataset must be set");
        }
        return new UnlearnRequest(spec, IngestedDataset.Ref.of(dataset, config.getString("unlearn.data_run_id")),
                config);
    }

    /** A builder deriving requests from {@code base}. */
    public static Builder builder(LetheConfig base) {
        return new Builder(base);
    }

    /** A builder deriving requests from this one's config. */
    public Builder toBuilder() {
        return new Builder(provenance);
    }

    /** This request unlearning from the model directory {@code dir}. */
    public UnlearnRequest withModel(String dir) {
        return toBuilder().model(dir).build();
    }

    /** This request with {@code dir} as its ref_model (empty: the model). */
    public UnlearnRequest withRefModel(String dir) {
        return toBuilder().refModel(dir).build();
    }

    /** This request writing its checkpoints under {@code dir}. */
    public UnlearnRequest withOutput(String dir) {
        return toBuilder().output(dir).build();
    }

    /**
     * Derives a request from a config with {@code lethe.unlearn.*} values set on top, validated as
     * {@link #of} validates, with the fingerprint {@code --set} of the same values gives.
     *
     * <p>Typed values and raw {@link #overrides} apply in the order they were given (a later one
     * wins a key both set), so a caller reproduces an existing sequence of {@code --set}s exactly:
     * e.g. continual's {@code method}, then a request's stored overrides, then {@code model},
     * {@code refModel}, {@code dataset}, ... .
     */
    public static final class Builder extends RequestBuilder<UnlearnRequest, Builder> {

        /** Raw overrides, each with the typed values given after it and before the next. */
        private record Stage(List<String> sets, Map<String, Object> after) {}

        private final List<Stage> stages = new ArrayList<>();

        private Builder(LetheConfig base) {
            super(base);
        }

        private Builder put(String key, Object value) {
            if (!stages.isEmpty()) {
                stages.get(stages.size() - 1).after().put(key, value);
            }
            return set(key, value);
        }

        /** The unlearning method (`lethe methods`). */
        public Builder method(String method) {
            return put("unlearn.method", method);
        }

        public Builder model(String dir) {
            return put("unlearn.model", dir);
        }

        /** The frozen reference model (empty: the model). */
        public Builder refModel(String dir) {
            return put("unlearn.ref_model", dir);
        }

        public Builder dataset(String dataset) {
            return put("unlearn.dataset", dataset);
        }

        /** The dataset's ingest run id (empty: its default run). */
        public Builder dataRunId(String runId) {
            return put("unlearn.data_run_id", runId);
        }

        public Builder epochs(int epochs) {
            return put("unlearn.epochs", epochs);
        }

        public Builder batchSize(int size) {
            return put("unlearn.batch_size", size);
        }

        /** The peak learning rate (0: the method's default). */
        public Builder lr(double lr) {
            return put("unlearn.lr", lr);
        }

        /** The checkpoint directory (empty: under the table root). */
        public Builder output(String dir) {
            return put("unlearn.output", dir);
        }

        public Builder resume(boolean resume) {
            return put("unlearn.resume", resume);
        }

        /**
         * Raw {@code key=value} overrides (as {@code --set}, e.g. a continual request's stored ones),
         * applied after the typed values given so far and before those given later.
         */
        public Builder overrides(List<String> sets) {
            stages.add(new Stage(List.copyOf(sets), new LinkedHashMap<>()));
            return self();
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected UnlearnRequest build(LetheConfig derived) {
            // derived has every typed value; each stage's overrides then win over the values given
            // before them, and the values given after them are set again on top. Values of
            // different keys commute, so this is the config of applying everything in order.
            LetheConfig config = derived;
            for (Stage stage : stages) {
                config = config.with(stage.sets());
                if (!stage.after().isEmpty()) {
                    config = config.with(stage.after());
                }
            }
            return of(config);
        }
    }
}
