package org.lethe.unlearn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lethe.model.AdamW;
import org.lethe.model.Autograd;
import org.lethe.model.Batch;
import org.lethe.model.LanguageModel;
import org.lethe.model.LmTrainer;
import org.lethe.model.ModelPresets;
import org.lethe.model.ModelSettings;
import org.lethe.model.Scalars;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every registered term on a fresh tiny model: finite, differentiable, deterministic; registry errors. */
class LossTermContractTest {

    private static final long SEED = 5;

    // Forget/retain rows (BOS 1, EOS 2); the second row is shorter, so it is right-padded.
    private static final List<long[]> SEQS = List.of(
            new long[] {1, 7, 11, 13, 20, 21, 22, 2}, new long[] {1, 8, 12, 30, 31, 2});
    private static final List<long[]> LABELS = List.of(
            new long[] {-100, -100, -100, -100, 20, 21, 22, 2}, new long[] {-100, -100, -100, 30, 31, 2});
    // The same questions with a refusal answer.
    private static final List<long[]> ALT_SEQS = List.of(
            new long[] {1, 7, 11, 13, 35, 36, 2}, new long[] {1, 8, 12, 35, 36, 37, 2});
    private static final List<long[]> ALT_LABELS = List.of(
            new long[] {-100, -100, -100, -100, 35, 36, 2}, new long[] {-100, -100, -100, 35, 36, 37, 2});

    private static LanguageModel ref;
    private static LanguageModel start;
    private static LanguageModel perturbed;

    @BeforeAll
    static void create() {
        ref = LanguageModel.fresh(ModelPresets.config("tiny", 40), ModelSettings.defaults(), SEED, null);
        start = LanguageModel.fresh(ModelPresets.config("tiny", 40), ModelSettings.defaults(), SEED, null);
        perturbed = LanguageModel.fresh(ModelPresets.config("tiny", 40), ModelSettings.defaults(), SEED, null);
        // One step on the retain data makes the policy differ from the reference (kl, embed_diff).
        try (LmTrainer trainer = new LmTrainer(perturbed, AdamW.Settings.defaults(), 1.0)) {
            trainer.step(SEQS, LABELS, 0.01);
        }
    }

    @AfterAll
    static void close() {
        ref.close();
        start.close();
        perturbed.close();
    }

    private record Outcome(double loss, long count, double gradSquares) {}

    private static NDArray ids(NDManager m, LanguageModel lm, List<long[]> rows, int width, long pad) {
        Batch b = Batch.rightPadded(rows, width, pad);
        return m.create(b.ids(), new Shape(rows.size(), width));
    }

    private static BatchView view(NDManager m, LanguageModel policy, LossTerm term, List<long[]> seqs, List<long[]> labels) {
        int rows = seqs.size();
        int width = seqs.stream().mapToInt(s -> s.length).max().orElseThrow();
        long eos = policy.config().eosTokenId();
        Batch padded = Batch.rightPadded(seqs, width, eos);
        NDArray idArr = m.create(padded.ids(), new Shape(rows, width));
        NDArray mask = m.create(padded.mask(), new Shape(rows, width));
        NDArray lab = ids(m, policy, labels, width, -100);
        NDArray positions = m.arange(0, width, 1, DataType.INT64).expandDims(0).broadcast(rows, width);
        NDArray hidden = policy.block().hiddenStates(policy.parameterStore(), idArr, positions, mask, null, true);
        NDArray logits = policy.block().logits(policy.parameterStore(), hidden, true);
        BatchView v = BatchView.of(logits, lab, mask);
        if (term.needsRefModel()) {
            NDArray refHidden = ref.block().hiddenStates(ref.parameterStore(), idArr, positions, mask, null, false)
                    .stopGradient();
            v = v.withRefLogits(ref.block().logits(ref.parameterStore(), refHidden, false).stopGradient());
            v = v.withHidden(hidden, refHidden);
        } else if (term.needsHiddenLayer()) {
            v = v.withHidden(hidden, null);
        }
        return v;
    }

    private static Outcome run(LanguageModel policy, LossTerm term) {
        return Autograd.exclusive(() -> {
            try (LmTrainer trainer = new LmTrainer(policy, AdamW.Settings.defaults(), 0)) {
                trainer.zeroGradients();
                try (NDManager m = policy.manager().newSubManager();
                        GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
                    BatchView batch = view(m, policy, term, SEQS, LABELS);
                    BatchView alt = term.alternative() == Alternative.NONE ? null
                            : view(m, policy, term, ALT_SEQS, ALT_LABELS);
                    TermValue value = term.compute(new TermInputs(batch, alt));
                    // sum / count, as the objective normalizes; a zero count (the none term) leaves the zero sum.
                    NDArray loss = value.count() == 0 ? value.sum()
                            : value.sum().div(Scalars.like(value.sum(), value.count()));
                    double lossValue = loss.getFloat();
                    if (value.count() > 0) {
                        collector.backward(loss);
                    }
                    double squares = 0;
                    Map<String, NDArray> grads = trainer.gradients();
                    for (NDArray g : grads.values()) {
                        squares += g.square().sum().getFloat();
                    }
                    grads.values().forEach(NDArray::close);
                    trainer.zeroGradients();
                    return new Outcome(lossValue, value.count(), squares);
                }
            }
        });
    }

    @Test
    void everyForgetTermIsFiniteWithAGradientAtTheStartAndDeterministic() {
        for (String name : LossTerms.forgetNames()) {
            LossTerm term = LossTerms.forget(name, Map.of());
            assertEquals(name, term.name());
            Outcome first = run(start, term);
            assertTrue(Double.isFinite(first.loss()), name + " loss " + first.loss());
            assertTrue(first.count() > 0, name + " count");
            assertTrue(first.gradSquares() > 0 && Double.isFinite(first.gradSquares()),
                    name + " gradient squares " + first.gradSquares());
            Outcome again = run(start, term);
            assertEquals(first.loss(), again.loss(), 0.0, name + " same inputs same value");
            assertEquals(first.gradSquares(), again.gradSquares(), 1e-6 * first.gradSquares(), name);
        }
    }

    @Test
    void everyRetainTermIsFiniteAndDifferentiableWhereNonZero() {
        for (String name : LossTerms.retainNames()) {
            LossTerm term = LossTerms.retain(name, Map.of());
            assertEquals(name, term.name());
            Outcome first = run(perturbed, term);
            assertTrue(Double.isFinite(first.loss()), name + " loss " + first.loss());
            if (name.equals("none")) {
                assertEquals(0.0, first.loss());
                continue;
            }
            assertTrue(first.loss() != 0, name + " is non-zero on a perturbed policy");
            assertTrue(first.gradSquares() > 0 && Double.isFinite(first.gradSquares()),
                    name + " gradient squares " + first.gradSquares());
            assertEquals(first.loss(), run(perturbed, term).loss(), 0.0, name + " same inputs same value");
        }
    }

    @Test
    void everyTermsCountBasisGivesTheCountItComputes() {
        List<LossTerm> terms = new java.util.ArrayList<>();
        for (String name : LossTerms.forgetNames()) {
            terms.add(LossTerms.forget(name, Map.of()));
        }
        for (String name : LossTerms.retainNames()) {
            terms.add(LossTerms.retain(name, Map.of()));
        }
        terms.add(LossTerms.forget("me", Map.of("all_positions", 1.0)));
        terms.add(LossTerms.retain("kl", Map.of("all_positions", 1.0)));
        int hidden = start.config().hiddenSize();
        for (LossTerm term : terms) {
            List<long[]> counted = term.countsAlternative() ? ALT_LABELS : LABELS;
            long expected = 0;
            for (long[] row : counted) {
                expected += term.countBasis().count(row, hidden);
            }
            assertEquals(expected, run(start, term).count(), term.name() + " " + term.countBasis());
        }
        // By hand for the two rows above (8 and 6 tokens, answers of 4 and 3 tokens).
        assertEquals(4 + 3, LABELS.stream().mapToLong(r -> CountBasis.ANSWER_TARGETS.count(r, 0)).sum());
        assertEquals(3 + 2, LABELS.stream().mapToLong(r -> CountBasis.ANSWER_TARGETS_AFTER_FIRST.count(r, 0)).sum());
        assertEquals(7 + 5, LABELS.stream().mapToLong(r -> CountBasis.PREDICTING_POSITIONS.count(r, 0)).sum());
        assertEquals((4 + 3) * 16, LABELS.stream().mapToLong(r -> CountBasis.LABEL_TOKENS_TIMES_HIDDEN.count(r, 16)).sum());
    }

    @Test
    void klAndEmbedDiffAreZeroWhenThePolicyIsTheReference() {
        assertEquals(0.0, run(start, LossTerms.retain("kl", Map.of())).loss(), 1e-6);
        assertEquals(0.0, run(start, LossTerms.retain("embed_diff", Map.of())).loss(), 1e-9);
    }

    @Test
    void registryNamesAreTheDocumentedOnes() {
        assertEquals(List.of("ga", "npo", "simnpo", "dpo", "idk", "me", "rmu", "undial", "wga", "satimp", "ce_u"),
                LossTerms.forgetNames());
        assertEquals(List.of("none", "nll", "kl", "ap", "embed_diff", "mismatch"), LossTerms.retainNames());
        assertEquals(Map.of("beta", 0.1), LossTerms.forgetDefaults("npo"));
    }

    @Test
    void unknownTermsAndParametersAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LossTerms.forget("gd", Map.of()));
        assertEquals("unknown forget loss term 'gd'; known: ga, npo, simnpo, dpo, idk, me, rmu, undial, wga,"
                + " satimp, ce_u", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LossTerms.retain("ga", Map.of()));
        assertEquals("unknown retain loss term 'ga'; known: none, nll, kl, ap, embed_diff, mismatch", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LossTerms.forget("simnpo", Map.of("betta", 1.0)));
        assertEquals("forget loss term 'simnpo': unknown parameter 'betta'; known: beta, delta", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LossTerms.retain("nll", Map.of("beta", 1.0)));
        assertEquals("retain loss term 'nll': unknown parameter 'beta'; known: (none)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LossTerms.retain("kl", Map.of("all_positions", 2.0)));
        assertEquals("retain loss term 'kl': parameter all_positions must be 0 (answer) or 1 (all), got 2.0",
                e.getMessage());
    }

    @Test
    void missingInputsAreNamed() {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            NDArray logits = m.zeros(new Shape(1, 3, 4));
            NDArray labels = m.create(new long[] {-100, 1, 2}, new Shape(1, 3));
            NDArray mask = m.ones(new Shape(1, 3), DataType.INT64);
            TermInputs in = TermInputs.of(BatchView.of(logits, labels, mask));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LossTerms.forget("npo", Map.of()).compute(in));
            assertEquals("loss term 'npo' needs the reference model's logits", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> LossTerms.forget("idk", Map.of()).compute(in));
            assertEquals("loss term 'idk' needs an alternative batch", e.getMessage());
        }
    }
}
