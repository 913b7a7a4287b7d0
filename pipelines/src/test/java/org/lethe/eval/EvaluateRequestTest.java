package org.lethe.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.data.IngestedDataset;
import org.lethe.eval.EvaluateRequest.ExtraSet;
import org.lethe.eval.EvaluateRequest.Source;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The evaluate request's factory, without Spark: typed values, the errors that name the key, derived requests. */
class EvaluateRequestTest {

    private static LetheConfig config(String... sets) {
        List<String> all = new ArrayList<>(List.of("eval.dataset=synth"));
        all.addAll(List.of(sets));
        return LetheConfig.load(Optional.empty(), all);
    }

    private static String error(String... sets) {
        return assertThrows(IllegalArgumentException.class, () -> EvaluateRequest.of(config(sets))).getMessage();
    }

    @Test
    void defaultsAreTyped() {
        EvaluateRequest r = EvaluateRequest.of(config());
        assertEquals(new IngestedDataset.Ref("synth", "ingest-synth"), r.data());
        assertEquals(List.of("forget", "retain", "real_authors", "world_facts", "holdout"),
                List.copyOf(r.sets().keySet()), "lethe.eval.sets order");
        assertEquals("forget10_perturbed", r.sets().get("forget"));
        assertEquals(300, r.maxSamples());
        assertEquals(-1, r.step());
        assertNull(r.miaReferenceModel());
        assertNull(r.judges().encoder());
        assertNull(r.judges().nli());
        assertTrue(r.extraSets().isEmpty());
        assertTrue(r.muse().selfFewShot());
        assertNull(r.select().utilityReferenceRun());
        assertEquals(config().sha256(), r.provenance().sha256());
    }

    @Test
    void extraSetsNameTheirDataAndKey() {
        EvaluateRequest r = EvaluateRequest.of(config("eval.data_run_id=mine", "eval.muse.verbmem_split=books",
                "eval.muse.knowmem_split=\"quiz:know\"", "eval.muse.few_shot_split=\"quiz:shots\"",
                "eval.mcq_sets=[\"trivia=quiz:quiz\", \"mmlu\"]"));
        IngestedDataset.Ref own = new IngestedDataset.Ref("synth", "mine");
        IngestedDataset.Ref quiz = new IngestedDataset.Ref("quiz", "ingest-quiz");
        assertEquals(List.of(
                new ExtraSet(ExtraSet.VERBMEM, "forget", new Source(own, "books"), "eval.muse.verbmem_split"),
                new ExtraSet(ExtraSet.KNOWMEM, "forget", new Source(quiz, "know"), "eval.muse.knowmem_split"),
                new ExtraSet(ExtraSet.MCQ, "trivia", new Source(quiz, "quiz"), "eval.mcq_sets"),
                new ExtraSet(ExtraSet.MCQ, "mmlu", new Source(own, "mmlu"), "eval.mcq_sets")), r.extraSets());
        assertEquals(new Source(quiz, "shots"), r.muse().fewShotSplit());
        assertEquals(List.of("verbmem_forget", "knowmem_forget", "mcq_trivia", "mcq_mmlu"),
                r.extraSets().stream().map(ExtraSet::name).toList());
    }

    @Test
    void badSettingsNameTheKey(@TempDir Path tmp) {
        assertEquals("lethe.eval.dataset must be set",
                assertThrows(IllegalArgumentException.class, () -> EvaluateRequest.of(LetheConfig.defaults()))
                        .getMessage());
        assertEquals("lethe.eval.max_samples must be > 0, got 0", error("eval.max_samples=0"));
        assertEquals("lethe.eval.partitions must be > 0, got -1", error("eval.partitions=-1"));
        assertEquals("lethe.eval.max_new_tokens must be >= 0, got -1", error("eval.max_new_tokens=-1"));
        assertEquals("lethe.eval.mia_k must be in (0, 1], got 0.0", error("eval.mia_k=0"));
        assertEquals("lethe.eval.step must be >= 0 (or -1: the checkpoint's), got -2", error("eval.step=-2"));
        assertEquals("lethe.eval.mia_reference_model: " + tmp + " is not a model directory (no config.json)",
                error("eval.mia_reference_model=" + tmp));
        assertEquals("lethe.eval.judges.nli: " + tmp + " is not a model directory (no config.json)",
                error("eval.judges.nli=" + tmp));
        assertEquals("lethe.eval.muse.prompt_tokens must be > 0, got 0", error("eval.muse.prompt_tokens=0"));
        assertEquals("lethe.eval.muse.few_shot must be >= 0, got -1", error("eval.muse.few_shot=-1"));
        assertEquals("lethe.eval.muse.verbmem_split: ':x': expected SPLIT or DATASET:SPLIT",
                error("eval.muse.verbmem_split=\":x\""));
        assertEquals("lethe.eval.mcq_sets: the set name 'quiz' is given twice",
                error("eval.mcq_sets=[\"quiz\", \"other:quiz\"]"));
        assertTrue(error("eval.mcq_sets=[\"forget=quiz\"]").startsWith("lethe.eval.mcq_sets: 'forget=quiz': the set's"
                + " name 'forget' must be snake_case"));
        assertTrue(error("eval.sets.forget=\"\"", "eval.sets.retain=\"\"", "eval.sets.real_authors=\"\"",
                "eval.sets.world_facts=\"\"", "eval.sets.holdout=\"\"").endsWith("no eval set is configured"));
        // few_shot_split is read only for KnowMem sets
        assertNull(EvaluateRequest.of(config("eval.muse.few_shot_split=\":x\"")).muse().fewShotSplit());
        assertEquals("lethe.eval.muse.few_shot_split: ':x': expected SPLIT or DATASET:SPLIT",
                error("eval.muse.few_shot_split=\":x\"", "eval.muse.knowmem_split=know"));
    }

    @Test
    void derivedRequestsHaveTheFingerprintOfTheSameSets() {
        LetheConfig base = LetheConfig.defaults();
        EvaluateRequest derived = EvaluateRequest.builder(base).dataset("synth").dataRunId("ingest-synth")
                .maxNewTokens(6).miaGradientNorm(false).step(3).maxSamples(4).build();
        LetheConfig set = LetheConfig.load(Optional.empty(), List.of("eval.dataset=synth",
                "eval.data_run_id=ingest-synth", "eval.max_new_tokens=6", "eval.mia_gradient_norm=false", "eval.step=3",
                "eval.max_samples=4"));
        assertEquals(set.toJson(), derived.provenance().toJson());
        assertEquals(set.sha256(), derived.provenance().sha256());
        assertEquals(6, derived.maxNewTokens());
        assertEquals(3, derived.step());
        assertEquals(4, derived.maxSamples());
        assertEquals(false, derived.miaGradientNorm());
        // A later set wins, and an empty data run is the dataset's default one
        EvaluateRequest again = derived.toBuilder().step(-1).dataRunId("").build();
        assertEquals(-1, again.step());
        assertEquals(new IngestedDataset.Ref("synth", "ingest-synth"), again.data());
        assertEquals(set.with(List.of("eval.step=-1", "eval.data_run_id=\"\"")).sha256(), again.provenance().sha256());
        assertEquals(derived.provenance().sha256(), derived.toBuilder().build().provenance().sha256());
        // The builder validates as the factory does
        assertEquals("lethe.eval.step must be >= 0 (or -1: the checkpoint's), got -5",
                assertThrows(IllegalArgumentException.class, () -> derived.toBuilder().step(-5).build()).getMessage());
    }
}
