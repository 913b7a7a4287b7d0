import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

import java.util.ArrayList;
import java.util.List;

/**
 * The memory-bound floor of one cached decoding step (issue 8): a one-token step multiplies one
 * activation row by every weight matrix of the model, so it cannot be faster than reading all the
 * weights once. Times that read for the weight shapes of bench/perf's 25M model (8 layers: fused
 * q/k/v 1024x512, o 512x512, gate and up 1376x512, down 512x1376; LM head 512x512) four ways
 * through libtorch's matrix-vector products, and once as a plain reduction over the same arrays
 * (ATen's own vectorized, multi-threaded sum: the bandwidth the hardware gives libtorch).
 *
 * <p>bench/run MatvecProbe [THREADS] [REPS]   (prints best-of-REPS milliseconds and GB/s)
 */
public final class MatvecProbe {

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        List<long[]> shapes = new ArrayList<>();
        for (int layer = 0; layer < 8; layer++) {
            shapes.add(new long[] {1024, 512});
            shapes.add(new long[] {512, 512});
            shapes.add(new long[] {1376, 512});
            shapes.add(new long[] {1376, 512});
            shapes.add(new long[] {512, 1376});
        }
        shapes.add(new long[] {512, 512});
        try (NDManager m = NDManager.newBaseManager()) {
            ai.djl.pytorch.jni.JniUtils.setNumThreads(threads); // after the engine has loaded
            List<NDArray> w = new ArrayList<>();
            List<NDArray> wt = new ArrayList<>();
            long bytes = 0;
            for (long[] s : shapes) {
                NDArray x = m.randomNormal(new Shape(s));
                w.add(x);
                wt.add(x.transpose().duplicate());
                bytes += s[0] * s[1] * Float.BYTES;
            }
            System.out.printf("%d matrices, %.1f MB, %d torch threads%n", w.size(), bytes / 1e6, threads);
            for (String mode : new String[] {"linear", "mv", "mm_column", "row_times_transposed", "sum"}) {
                double best = Double.MAX_VALUE;
                for (int r = 0; r < reps; r++) {
                    try (NDManager s = m.newSubManager()) {
                        long t = System.nanoTime();
                        for (int i = 0; i < w.size(); i++) {
                            long k = shapes.get(i)[1];
                            NDArray y = switch (mode) {
                                case "linear" -> Linear.linear(s.ones(new Shape(1, 1, k)), w.get(i)).singletonOrThrow();
                                case "mv" -> w.get(i).matMul(s.ones(new Shape(k)));
                                case "mm_column" -> w.get(i).matMul(s.ones(new Shape(k, 1)));
                                case "row_times_transposed" -> s.ones(new Shape(1, k)).matMul(wt.get(i));
                                default -> w.get(i).sum();
                            };
                            y.close();
                        }
                        best = Math.min(best, (System.nanoTime() - t) / 1e6);
                    }
                }
                System.out.printf("%-22s %6.2f ms  %5.1f GB/s%n", mode, best, bytes / best / 1e6);
            }
        }
    }
}
