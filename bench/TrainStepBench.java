import org.lethe.model.AdamW;
import org.lethe.model.LanguageModel;
import org.lethe.model.LmTrainer;
import org.lethe.model.ModelSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Training-step throughput and native-memory flatness of the Llama model: N steps at batch B x T
 * tokens (seeded random ids), reporting steps/s and resident memory every 100 steps.
 *
 * <p>Usage: bench/run TrainStepBench [modelDir] [steps] [batch] [tokens] [threads]
 */
public final class TrainStepBench {

    public static void main(String[] args) throws Exception {
        Path dir = Paths.get(args.length > 0 ? args[0] : "../shared/fixtures/stories260K");
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        int tokens = args.length > 3 ? Integer.parseInt(args[3]) : 128;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : 0;
        try (LanguageModel lm = LanguageModel.load(dir, new ModelSettings("cpu", "float32", threads));
                LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 1.0)) {
            SplittableRandom rng = new SplittableRandom(7);
            int vocab = lm.config().vocabSize();
            System.out.println("step,seconds_since_start,steps_per_s_window,loss,rss_mib,heap_committed_mib");
            long start = System.nanoTime();
            long windowStart = start;
            for (int step = 1; step <= steps; step++) {
                List<long[]> seqs = new ArrayList<>(batch);
                for (int b = 0; b < batch; b++) {
                    long[] ids = new long[tokens];
                    ids[0] = lm.config().bosTokenId();
                    for (int t = 1; t < tokens; t++) {
                        ids[t] = 3 + rng.nextInt(vocab - 3);
                    }
                    seqs.add(ids);
                }
                LmTrainer.StepResult r = trainer.step(seqs, seqs, 1e-3);
                if (step % 100 == 0 || step == 1) {
                    long now = System.nanoTime();
                    int inWindow = step == 1 ? 1 : (step % 100 == 0 && step > 100 ? 100 : 99);
                    System.out.printf("%d,%.2f,%.2f,%.4f,%.1f,%.1f%n", step, (now - start) / 1e9,
                            inWindow / ((now - windowStart) / 1e9), r.loss(), rssMib(),
                            Runtime.getRuntime().totalMemory() / 1048576.0);
                    windowStart = now;
                }
            }
            double total = (System.nanoTime() - start) / 1e9;
            System.err.printf("%d steps of %dx%d tokens in %.1f s: %.2f steps/s, %.0f tokens/s%n",
                    steps, batch, tokens, total, steps / total, steps * (double) batch * tokens / total);
        }
    }

    private static double rssMib() throws Exception {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }
}
