package org.lethe.eval;

import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.lethe.data.PromptTemplate;
import org.lethe.distributed.ExecutorModelCache;
import org.lethe.eval.EvaluateRequest.ExtraSet;
import org.lethe.model.LanguageModel;
import org.lethe.model.ModelSettings;
import org.lethe.storage.LocalModels;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The executor side of {@code evaluate}: the functions that score a partition of items in batches
 * into {@code eval_samples} rows, with the model leased from the executor's model cache (judges
 * cached once per executor JVM).
 */
final class EvalPartitions {

    private EvalPartitions() {}

    /** The executor side of the extra sets: MUSE VerbMem / KnowMem and multiple-choice sets, batched per set. */
    static final class EvaluateExtra implements FlatMapFunction<Iterator<Row>, Row> {
        private static final long serialVersionUID = 1L;
        private final String key;
        private final String modelDir;
        private final ModelSettings model;
        private final PromptTemplate template;
        private final MuseMetrics.Settings muse;
        private final Map<String, String> prefixes;
        private final int batchSize;
        private final String runId;
        private final long step;
        private final String dataset;

        EvaluateExtra(String key, String modelDir, ModelSettings model, PromptTemplate template,
                MuseMetrics.Settings muse, Map<String, String> prefixes, int batchSize, String runId, long step,
                String dataset) {
            this.key = key;
            this.modelDir = modelDir;
            this.model = model;
            this.template = template;
            this.muse = muse;
            this.prefixes = new java.util.TreeMap<>(prefixes);
            this.batchSize = batchSize;
            this.runId = runId;
            this.step = step;
            this.dataset = dataset;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            List<Row> out = new ArrayList<>();
            if (!rows.hasNext()) {
                return out.iterator();
            }
            try (ExecutorModelCache.Lease lease = ExecutorModelCache.frozen(key, modelDir, model)) {
                LanguageModel lm = lease.model();
                // One batch per (kind, eval set): a batch shares its prompt shape (and KnowMem prefix)
                Map<String, List<SampleMetrics.Item>> batches = new LinkedHashMap<>();
                while (rows.hasNext()) {
                    Row r = rows.next();
                    String kind = r.getString(0);
                    String batchKey = kind + "/" + r.getString(1);
                    List<SampleMetrics.Item> batch = batches.computeIfAbsent(batchKey, x -> new ArrayList<>());
                    batch.add(new SampleMetrics.Item(r.getString(1), r.getString(2), r.getString(3), r.getString(4),
                            null, r.isNullAt(5) ? null : r.getList(5), null));
                    if (batch.size() == batchSize) {
                        flush(lm, kind, batch, out);
                    }
                }
                for (Map.Entry<String, List<SampleMetrics.Item>> e : batches.entrySet()) {
                    if (!e.getValue().isEmpty()) {
                        flush(lm, e.getKey().substring(0, e.getKey().indexOf('/')), e.getValue(), out);
                    }
                }
            }
            return out.iterator();
        }

        private void flush(LanguageModel lm, String kind, List<SampleMetrics.Item> batch, List<Row> out) {
            List<SampleMetrics.Value> values = switch (kind) {
                case ExtraSet.VERBMEM -> MuseMetrics.verbMem(lm, batch, muse);
                case ExtraSet.KNOWMEM -> MuseMetrics.knowMem(lm, batch, prefixes.get(batch.get(0).split()), muse);
                case ExtraSet.MCQ -> SampleMetrics.mcq(lm, batch, template);
                default -> throw new IllegalStateException("unknown eval set kind " + kind);
            };
            for (SampleMetrics.Value v : values) {
                out.add(RowFactory.create(runId, step, dataset, v.split(), v.sampleId(), v.metric(), v.value(),
                        v.generation()));
            }
            batch.clear();
        }
    }

    /** Judge models, loaded once per executor JVM and kept (they are frozen and small). */
    private static final Map<String, AutoCloseable> JUDGES = new java.util.concurrent.ConcurrentHashMap<>();

    /** The executor side of the TOFU-role eval sets: items in batches, the model cached per JVM. */
    static final class Evaluate implements FlatMapFunction<Iterator<Row>, Row> {
        private static final long serialVersionUID = 1L;
        private final String key;
        private final String modelDir;
        private final String referenceDir;
        private final ModelSettings model;
        private final SampleMetrics.Settings settings;
        private final int batchSize;
        private final String runId;
        private final long step;
        private final String dataset;
        private final String encoderDir;
        private final String nliDir;

        Evaluate(String key, String modelDir, String referenceDir, ModelSettings model, SampleMetrics.Settings settings,
                int batchSize, String runId, long step, String dataset, String encoderDir, String nliDir) {
            this.encoderDir = encoderDir;
            this.nliDir = nliDir;
            this.key = key;
            this.modelDir = modelDir;
            this.referenceDir = referenceDir;
            this.model = model;
            this.settings = settings;
            this.batchSize = batchSize;
            this.runId = runId;
            this.step = step;
            this.dataset = dataset;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            // Leased until the partition's rows are computed (they are, into out, before returning).
            try (ExecutorModelCache.Lease lease = ExecutorModelCache.frozen(key, modelDir, model);
                    ExecutorModelCache.Lease refLease = referenceDir == null ? null
                            : ExecutorModelCache.frozen(key + "-reference", referenceDir, model)) {
                return compute(lease.model(), refLease == null ? null : refLease.model(), rows);
            }
        }

        private Iterator<Row> compute(LanguageModel lm, LanguageModel ref, Iterator<Row> rows) {
            SampleMetrics.Judges judges = new SampleMetrics.Judges(
                    encoderDir == null ? null : (org.lethe.judge.SentenceEncoder) JUDGES.computeIfAbsent(
                            "encoder:" + encoderDir,
                            k -> LocalModels.load(encoderDir, d -> org.lethe.judge.SentenceEncoder.load(d, model))),
                    nliDir == null ? null : (org.lethe.judge.NliCrossEncoder) JUDGES.computeIfAbsent(
                            "nli:" + nliDir,
                            k -> LocalModels.load(nliDir, d -> org.lethe.judge.NliCrossEncoder.load(d, model))));
            List<Row> out = new ArrayList<>();
            List<SampleMetrics.Item> batch = new ArrayList<>();
            while (rows.hasNext()) {
                Row r = rows.next();
                batch.add(new SampleMetrics.Item(r.getString(0), r.getString(1), r.getString(2), r.getString(3),
                        r.isNullAt(4) ? null : r.getString(4), r.isNullAt(5) ? null : r.getList(5),
                        r.isNullAt(6) ? null : r.getString(6)));
                if (batch.size() == batchSize || !rows.hasNext()) {
                    for (SampleMetrics.Value v : SampleMetrics.compute(lm, ref, batch, settings, judges)) {
                        out.add(RowFactory.create(runId, step, dataset, v.split(), v.sampleId(), v.metric(), v.value(),
                                v.generation()));
                    }
                    batch.clear();
                }
            }
            return out.iterator();
        }
    }
}
