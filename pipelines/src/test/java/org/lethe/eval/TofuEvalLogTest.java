package org.lethe.eval;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.testing.Fixtures;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Golden test: TOFU's own eval logs of Llama-2-7b fine-tuned on full and on retain90 give TOFU's
 * published forget quality (1.83e-21) and model utilities (0.6227, 0.6137). The Python values in
 * the comments come from TOFU's aggregate_eval_stat.py run on the same files (numpy 2.4, SciPy 1.17).
 */
class TofuEvalLogTest {

    private static TofuEvalLog full;
    private static TofuEvalLog retain90;

    private static void loadFixtures() {
        if (full == null) {
            Path dir = Fixtures.root().resolve("tofu").resolve("eval_logs_llama2_7b");
            Assumptions.assumeTrue(Files.isDirectory(dir), dir + " not found: skipping");
            full = TofuEvalLog.read(dir.resolve("ft_epoch5_lr1e-05_llama2-7b_full_wd0.01__eval_log_aggregated.json"));
            retain90 = TofuEvalLog.read(
                    dir.resolve("ft_epoch5_lr1e-05_llama2-7b_retain90_wd0.01__eval_log_aggregated.json"));
        }
    }

    @Test
    void forgetQualityOfFullVersusRetain90() {
        loadFixtures();
        KolmogorovSmirnov.Result fq = TofuEvalLog.forgetQuality(full, retain90);
        // Published: 1.83e-21. aggregate_eval_stat.py: statistic 0.39666666666666667 (119/300),
        // p-value 1.834066410994743e-21 (exact, 300 vs 300)
        assertEquals(1.83e-21, fq.pValue(), 1e-2 * 1.83e-21);
        assertEquals(1.834066410994743e-21, fq.pValue(), 1e-12 * 1.834066410994743e-21);
        assertEquals(119.0 / 300, fq.statistic(), 1e-15);
        assertTrue(fq.exact());
        assertEquals(300, full.set(TofuEvalLog.FORGET).keys().size());
        // A model against itself: p = 1
        assertEquals(1.0, TofuEvalLog.forgetQuality(retain90, retain90).pValue(), 0.0);
    }

    @Test
    void modelUtilityOfFullAndRetain90() {
        loadFixtures();
        // Published: 0.6227 and 0.6137; aggregate_eval_stat.py: 0.6226773637427152, 0.613744995233942
        TofuEvalLog.ModelUtility fullMu = full.modelUtility();
        TofuEvalLog.ModelUtility retainMu = retain90.modelUtility();
        assertEquals(0.6227, fullMu.value(), 1e-4);
        assertEquals(0.6137, retainMu.value(), 1e-4);
        assertEquals(0.6226773637427152, fullMu.value(), 1e-13);
        assertEquals(0.613744995233942, retainMu.value(), 1e-13);
    }

    @Test
    void componentsOfTheFullModel() {
        loadFixtures();
        // aggregate_eval_stat.py's Prob. / ROUGE / Truth Ratio of the full model, set by set
        TofuEvalLog.ModelUtility mu = full.modelUtility();
        assertComponents(0.9895272273969067, 0.9856545937933034, 0.47469858801063747,
                mu.components().get(TofuEvalLog.RETAIN));
        assertComponents(0.45548207783762884, 0.9329999999999999, 0.5962289157077105,
                mu.components().get(TofuEvalLog.REAL_AUTHORS));
        assertComponents(0.4185618075594898, 0.8824786324786325, 0.5390328416393139,
                mu.components().get(TofuEvalLog.WORLD_FACTS));
        // The forget set is reported but not part of model utility (min(R, 1/R) aggregate)
        assertComponents(0.9909385566403208, 0.985449693916369, 0.5159854212808593,
                full.set(TofuEvalLog.FORGET).metrics());
        assertEquals(3, mu.components().size());
    }

    private static void assertComponents(double prob, double rouge, double truthRatio, TofuEvalLog.SetMetrics m) {
        assertEquals(prob, m.probability(), 1e-13, "Prob.");
        assertEquals(rouge, m.rougeLRecall(), 1e-13, "ROUGE");
        assertEquals(truthRatio, m.truthRatio(), 1e-13, "Truth Ratio");
    }

    @Test
    void badLogsNameFileSetFieldAndSample(@TempDir Path dir) throws IOException {
        Path missingSet = dir.resolve("a.json");
        Files.writeString(missingSet, "{\"eval_log.json\": {}}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TofuEvalLog.read(missingSet));
        assertEquals(missingSet + " eval_log.json: missing per-sample field avg_gt_loss", e.getMessage());

        String sample = "{\"avg_gt_loss\": {\"0\": 1.0}, \"avg_paraphrased_loss\": {\"0\": 1.0},"
                + " \"rougeL_recall\": {\"0\": 1.0}, \"average_perturb_loss\": {\"0\": [1.0, 2.0]}}";
        String bad = "{\"avg_gt_loss\": {\"0\": 1.0}, \"avg_paraphrased_loss\": {\"0\": \"x\"},"
                + " \"rougeL_recall\": {\"0\": 1.0}, \"average_perturb_loss\": {\"0\": [1.0, 2.0]}}";
        Path badValue = dir.resolve("b.json");
        Files.writeString(badValue, "{\"eval_log.json\": " + sample + ", \"eval_log_forget.json\": " + bad + "}");
        e = assertThrows(IllegalArgumentException.class, () -> TofuEvalLog.read(badValue));
        assertEquals(badValue + " eval_log_forget.json avg_paraphrased_loss[\"0\"]: expected a finite number, got \"x\"",
                e.getMessage());

        Path noWorld = dir.resolve("c.json");
        Files.writeString(noWorld, "{\"eval_log.json\": " + sample + ", \"eval_log_forget.json\": " + sample
                + ", \"eval_real_author_wo_options.json\": " + sample + "}");
        e = assertThrows(IllegalArgumentException.class, () -> TofuEvalLog.read(noWorld));
        assertEquals(noWorld + ": missing eval set eval_real_world_wo_options.json", e.getMessage());

        Path ok = dir.resolve("d.json");
        Files.writeString(ok, "{\"eval_log.json\": " + sample + ", \"eval_log_forget.json\": " + sample
                + ", \"eval_real_author_wo_options.json\": " + sample
                + ", \"eval_real_world_wo_options.json\": " + sample + "}");
        TofuEvalLog log = TofuEvalLog.read(ok);
        // R = exp(1 - 1.5) = e^-0.5 for every sample
        assertEquals(Math.exp(-0.5), log.set(TofuEvalLog.FORGET).truthRatios()[0], 1e-15);
        e = assertThrows(IllegalArgumentException.class, () -> log.set("nope.json"));
        assertTrue(e.getMessage().startsWith("unknown eval set nope.json"), e.getMessage());
    }
}
