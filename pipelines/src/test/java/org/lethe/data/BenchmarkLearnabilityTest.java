package org.lethe.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.model.AdamW;
import org.lethe.model.LanguageModel;
import org.lethe.model.GreedyDecoder;
import org.lethe.model.LmTokenizer;
import org.lethe.model.LmTrainer;
import org.lethe.model.ModelPresets;
import org.lethe.model.ModelSettings;
import org.lethe.text.Rouge;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The synthetic benchmark is learnable and not guessable: a small model trained from scratch on
 * everything recalls the forget authors' answers, one trained without them does not (ROUGE-L
 * recall as TOFU computes it).
 */
class BenchmarkLearnabilityTest {

    static final int AUTHORS = 10;
    static final int EPOCHS = Integer.getInteger("lethe.learnability.epochs", 60);

    record Pair(String question, String answer) {}

    @Test
    void retainOnlyModelScoresAtMostHalfTheForgetRougeOfTheFullModel(@TempDir Path dir) throws Exception {
        FictitiousAuthors bench = FictitiousAuthors.generate(0, AUTHORS, FictitiousAuthors.DEFAULT_QUESTIONS);
        bench.write(dir, 512);
        PromptTemplate template = PromptTemplate.of(LetheConfig.defaults());
        List<Pair> general = new ArrayList<>();
        bench.realAuthors().forEach(c -> general.add(new Pair(c.question(), c.answer())));
        bench.worldFacts().forEach(c -> general.add(new Pair(c.question(), c.answer())));
        List<Pair> all = new ArrayList<>(general);
        bench.full().forEach(q -> all.add(new Pair(q.question(), q.answer())));
        List<Pair> retain = new ArrayList<>(general);
        bench.retain(10).forEach(q -> retain.add(new Pair(q.question(), q.answer())));
        List<Pair> forget = new ArrayList<>();
        bench.forget(10).forEach(q -> forget.add(new Pair(q.question(), q.answer())));

        double full = forgetRecall(dir, template, all, forget);
        double retainOnly = forgetRecall(dir, template, retain, forget);
        System.err.printf("forget ROUGE-L recall: trained on all %.3f, on retain only %.3f%n", full, retainOnly);
        assertTrue(full >= 0.9, "the full model should have learned the forget answers, recall " + full);
        assertTrue(retainOnly <= 0.5 * full, "retain-only " + retainOnly + " vs full " + full);
    }

    /** Trains a fresh tiny model on {@code train} and returns its mean ROUGE-L recall on {@code forget}. */
    private static double forgetRecall(Path dir, PromptTemplate template, List<Pair> train, List<Pair> forget) {
        LmTokenizer probe;
        try (LanguageModel lm = LanguageModel.fresh(ModelPresets.config(System.getProperty("lethe.learnability.preset", "tiny"), LmTokenizer.vocabularySize(dir.resolve("tokenizer.json"))),
                ModelSettings.defaults(), 1, dir.resolve("tokenizer.json"));
                LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 1.0)) {
            probe = lm.tokenizer();
            List<PromptTemplate.Encoded> encoded = new ArrayList<>();
            for (Pair p : train) {
                encoded.add(template.encode(probe, p.question(), p.answer()));
            }
            SplittableRandom rng = new SplittableRandom(5);
            double lastLoss = 0;
            int batch = 16;
            int steps = EPOCHS * ((encoded.size() + batch - 1) / batch);
            for (int step = 0; step < steps; step++) {
                List<long[]> ids = new ArrayList<>();
                List<long[]> labels = new ArrayList<>();
                for (int b = 0; b < batch; b++) {
                    PromptTemplate.Encoded e = encoded.get(rng.nextInt(encoded.size()));
                    ids.add(e.ids());
                    labels.add(e.labels());
                }
                double lr = Double.parseDouble(System.getProperty("lethe.learnability.lr", "3e-3")) * Math.min(1.0, (steps - step) / (0.3 * steps)); // linear decay at the end
                float loss = trainer.step(ids, labels, lr).loss();
                if (step >= steps - 20) {
                    lastLoss += loss / 20;
                }
            }
            System.err.printf("%d samples, %d steps, final loss %.3f%n", train.size(), steps, lastLoss);
            List<long[]> prompts = new ArrayList<>();
            for (Pair p : forget) {
                prompts.add(probe.encode(template.generationPrompt(p.question()), true));
            }
            List<long[]> out = GreedyDecoder.generate(lm, prompts, 40, true);
            double sum = 0;
            for (int i = 0; i < forget.size(); i++) {
                String generated = probe.decode(out.get(i)).strip();
                sum += Rouge.rougeL(forget.get(i).answer(), generated, true).recall();
            }
            return sum / forget.size();
        }
    }
}
