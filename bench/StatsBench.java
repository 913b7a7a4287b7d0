import ai.djl.ndarray.NDManager;
import org.lethe.distributed.DataParallelTrainer;
import org.lethe.model.AdamW;
import org.lethe.model.LanguageModel;
import org.lethe.model.LmTrainer;
import org.lethe.model.LoraSettings;
import org.lethe.model.ModelSettings;
import org.lethe.stats.PerSampleGradients;
import org.lethe.stats.SeededProjection;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Cost of `lethe stats` per sample relative to a training step over the same tokens: for batches of
 * B sequences x T tokens (seeded random ids, the first half of each masked as a prompt), the time of
 * one LmTrainer step (forward, backward, AdamW) versus PerSampleGradients (one forward, B per-row
 * backward passes) plus the seeded projection to k dimensions, for full-parameter and LoRA gradients.
 *
 * <p>Usage: bench/run StatsBench [modelDir] [batches] [batch] [tokens] [k] [threads]
 */
public final class StatsBench {

    public static void main(String[] args) throws Exception {
        Path dir = Paths.get(args.length > 0 ? args[0] : "../shared/fixtures/stories260K");
        int batches = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        int tokens = args.length > 3 ? Integer.parseInt(args[3]) : 128;
        int k = args.length > 4 ? Integer.parseInt(args[4]) : 512;
        int threads = args.length > 5 ? Integer.parseInt(args[5]) : 0;
        System.out.println("gradient,parameters,batch,tokens,k,train_step_ms,stats_batch_ms,of_which_projection_ms,"
                + "stats_per_sample_ms,train_per_sample_ms,ratio");
        for (String mode : List.of("full", "lora")) {
            try (LanguageModel lm = LanguageModel.load(dir, new ModelSettings("cpu", "float32", threads))) {
                if (mode.equals("lora")) {
                    lm.attachLora(new LoraSettings(8, 16, List.of("q_proj", "v_proj"), 0));
                }
                List<String> names = DataParallelTrainer.select(lm, List.of());
                long params = names.stream().mapToLong(n -> lm.block().trainableParameters().get(n).getArray().size())
                        .sum();
                SeededProjection projection = new SeededProjection(0, k, 4096);
                SplittableRandom rng = new SplittableRandom(7);
                double train = 0;
                double stats = 0;
                double proj = 0;
                try (LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 1.0)) {
                    for (int i = -2; i < batches; i++) { // two warm-up batches
                        List<long[]> ids = new ArrayList<>();
                        List<long[]> labels = new ArrayList<>();
                        for (int b = 0; b < batch; b++) {
                            long[] s = new long[tokens];
                            long[] l = new long[tokens];
                            s[0] = lm.config().bosTokenId();
                            for (int t = 1; t < tokens; t++) {
                                s[t] = 3 + rng.nextInt(lm.config().vocabSize() - 3);
                            }
                            for (int t = 0; t < tokens; t++) {
                                l[t] = t < tokens / 2 ? LmTrainer.IGNORE_INDEX : s[t];
                            }
                            ids.add(s);
                            labels.add(l);
                        }
                        long t0 = System.nanoTime();
                        // lr 0: the weights stay put, so both measurements see the same model.
                        trainer.step(ids, labels, 0.0);
                        long t1 = System.nanoTime();
                        List<PerSampleGradients.Sample> samples = PerSampleGradients.compute(lm, names, ids, labels, 0.4);
                        long t2 = System.nanoTime();
                        try (NDManager m = lm.manager().newSubManager()) {
                            projection.project(m, samples.stream().map(PerSampleGradients.Sample::gradient)
                                    .toArray(float[][]::new));
                        }
                        long t3 = System.nanoTime();
                        if (i >= 0) {
                            train += (t1 - t0) / 1e6;
                            stats += (t3 - t1) / 1e6;
                            proj += (t3 - t2) / 1e6;
                        }
                    }
                }
                double trainMs = train / batches;
                double statsMs = stats / batches;
                System.out.printf("%s,%d,%d,%d,%d,%.1f,%.1f,%.1f,%.2f,%.2f,%.2f%n", mode, params, batch, tokens, k,
                        trainMs, statsMs, proj / batches, statsMs / batch, trainMs / batch, statsMs / trainMs);
            }
        }
    }
}
