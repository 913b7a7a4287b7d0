package org.lethe.eval;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.lethe.data.IngestedDataset;
import org.lethe.eval.EvaluateRequest.ExtraSet;
import org.lethe.eval.EvaluateRequest.Source;
import org.lethe.store.TableStore;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;

/**
 * Which ingested items {@code evaluate} scores: the first {@code max_samples} of each eval set by
 * file line (or the forget set a caller chose by sample id), and of each MUSE / multiple-choice
 * set, with the KnowMem few-shot prefixes. Spark plans only; the job persists and counts them.
 */
final class EvalItems {

    private EvalItems() {}

    /**
     * The items of the TOFU-role eval sets (columns split = role, sample_id, rank and the examples'
     * question, answer, paraphrased_answer, perturbed_answers, paraphrased_question), or null when
     * no role is configured.
     *
     * @param selection the forget set by sample id and the samples the other sets leave out, or
     *     null: the configured splits
     */
    static Dataset<Row> roleItems(IngestedDataset data, EvaluateRequest request, EvaluateJob.Items selection) {
        // The first max_samples items of each configured set, by file line.
        Dataset<Row> members = data.memberships();
        Dataset<Row> items = null;
        for (Map.Entry<String, String> roleSplit : request.sets().entrySet()) {
            String role = roleSplit.getKey();
            Dataset<Row> set = members.filter(col("split").equalTo(roleSplit.getValue()));
            if (selection != null && role.equals("forget")) {
                // Each selected sample once, at its first place in the files.
                set = members.join(selection.forgetIds().select("sample_id").distinct(), "sample_id")
                        .groupBy("sample_id").agg(org.apache.spark.sql.functions.min(
                                org.apache.spark.sql.functions.struct("source_file", "line", "passage")).as("at"))
                        .select(col("sample_id"), col("at.source_file"), col("at.line"), col("at.passage"));
            } else if (selection != null && selection.excluded() != null) {
                set = set.join(selection.excluded().select(col("sample_id").as("excluded_id")),
                        col("sample_id").equalTo(col("excluded_id")), "left_anti");
            }
            set = set.withColumn("rank", row_number().over(Window.orderBy("source_file", "line", "passage")))
                    .filter(col("rank").leq(request.maxSamples()))
                    .select(lit(role).as("split"), col("sample_id"), col("rank"));
            items = items == null ? set : items.unionByName(set);
        }
        if (items == null) {
            return null;
        }
        Dataset<Row> examples = data.examples().select("sample_id", "question", "answer", "paraphrased_answer",
                "perturbed_answers", "paraphrased_question");
        return items.join(examples, "sample_id");
    }

    /**
     * The extra sets' items (columns kind, split, sample_id, question, answer, perturbed_answers;
     * null when none is configured) and the KnowMem few-shot prefix per role.
     */
    record Extra(Dataset<Row> items, Map<String, String> prefixes) {}

    /** The items of {@code request}'s extra sets; fails when a KnowMem set has too few few-shot examples. */
    static Extra extraItems(TableStore store, EvaluateRequest request) {
        EvaluateRequest.Muse muse = request.muse();
        int fewShot = muse.fewShot();
        Map<String, String> prefixes = new TreeMap<>();
        Dataset<Row> items = null;
        for (ExtraSet set : request.extraSets()) {
            Dataset<Row> ranked = ranked(store, set.source());
            int skip = 0;
            if (set.kind().equals(ExtraSet.KNOWMEM)) {
                // MUSE prompts with fixed in-context QA pairs: the first few_shot of the set (then not scored) or of few_shot_split
                Dataset<Row> shots = ranked;
                String where = set.key();
                if (muse.selfFewShot()) {
                    skip = fewShot;
                } else {
                    shots = ranked(store, muse.fewShotSplit());
                    where = "eval.muse.few_shot_split";
                }
                List<MuseMetrics.QaPair> pairs = new ArrayList<>();
                for (Row r : shots.filter(col("rank").leq(fewShot)).orderBy("rank").collectAsList()) {
                    pairs.add(new MuseMetrics.QaPair(r.getString(r.fieldIndex("question")),
                            r.getString(r.fieldIndex("answer"))));
                }
                if (pairs.size() < fewShot) {
                    throw new IllegalArgumentException("lethe." + where + ": " + pairs.size() + " items, fewer than"
                            + " lethe.eval.muse.few_shot = " + fewShot + " few-shot examples");
                }
                prefixes.put(set.role(), MuseMetrics.fewShotPrefix(pairs));
            }
            Dataset<Row> part = ranked.filter(col("rank").gt(skip).and(col("rank").leq(skip + request.maxSamples())))
                    .select(lit(set.kind()).as("kind"), lit(set.role()).as("split"), col("sample_id"), col("question"),
                            col("answer"), col("perturbed_answers"));
            items = items == null ? part : items.unionByName(part);
        }
        return new Extra(items, prefixes);
    }

    /** The ingested items of one split with their 1-based rank by file line. */
    private static Dataset<Row> ranked(TableStore store, Source source) {
        IngestedDataset data = IngestedDataset.open(store, source.data());
        Dataset<Row> members = data.memberships().filter(col("split").equalTo(source.split()))
                .withColumn("rank", row_number().over(Window.orderBy("source_file", "line", "passage")))
                .select("sample_id", "rank");
        Dataset<Row> examples = data.examples().select("sample_id", "question", "answer", "perturbed_answers");
        return members.join(examples, "sample_id");
    }
}
