package org.lethe.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.lethe.config.LetheConfig;

import java.util.Locale;

/**
 * Where and how a model computes: device (auto, cpu, gpu, gpu:N; see {@link #resolveDevice}), compute
 * dtype (float32, or float16 for a frozen base on GPU) and the torch intra-op thread count (0 keeps
 * the engine's default); and how many parameter bytes, idle for how long, an executor JVM keeps
 * cached ({@link org.lethe.distributed.ExecutorModelCache}). The cache settings travel with every
 * task that loads a model and never change what a model computes.
 */
public record ModelSettings(String device, String dtype, int threads, long cacheMaxBytes, int cacheIdleSeconds)
        implements java.io.Serializable {

    /** {@code lethe.model.cache_max_bytes} in reference.conf: 16 GiB. */
    public static final long DEFAULT_CACHE_MAX_BYTES = 16L << 30;
    /** {@code lethe.model.cache_idle_seconds} in reference.conf. */
    public static final int DEFAULT_CACHE_IDLE_SECONDS = 600;

    /** float32 on CPU with the engine's default threads: what tests and the demo use here. */
    public static ModelSettings defaults() {
        return new ModelSettings("cpu", "float32", 0);
    }

    /** Device, dtype and threads with the default model cache. */
    public ModelSettings(String device, String dtype, int threads) {
        this(device, dtype, threads, DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_IDLE_SECONDS);
    }

    public ModelSettings {
        if (device == null || device.isBlank()) {
            throw new IllegalArgumentException("lethe.model.device must name a device (auto, cpu, gpu, gpu:0)");
        }
        parseDtype(dtype);
        if (threads < 0) {
            throw new IllegalArgumentException("lethe.model.threads must be >= 0, got " + threads);
        }
        if (cacheMaxBytes < 1) {
            throw new IllegalArgumentException("lethe.model.cache_max_bytes must be >= 1, got " + cacheMaxBytes);
        }
        if (cacheIdleSeconds < 0) {
            throw new IllegalArgumentException("lethe.model.cache_idle_seconds must be >= 0 (0: no idle eviction),"
                    + " got " + cacheIdleSeconds);
        }
    }

    /** The {@code lethe.model.*} settings of a resolved config. */
    public static ModelSettings of(LetheConfig config) {
        return new ModelSettings(config.modelDevice(), config.modelDtype(), config.modelThreads(),
                config.getLong("model.cache_max_bytes"), config.getInt("model.cache_idle_seconds"));
    }

    /** These settings computing in {@code dtype} instead (e.g. a float16 ref_model beside a float32 model). */
    public ModelSettings withDtype(String dtype) {
        return new ModelSettings(device, dtype, threads, cacheMaxBytes, cacheIdleSeconds);
    }

    /** The compute data type. */
    public DataType dataType() {
        return parseDtype(dtype);
    }

    private static DataType parseDtype(String dtype) {
        switch (dtype == null ? "" : dtype.toLowerCase(Locale.ROOT)) {
            case "float32":
            case "fp32":
                return DataType.FLOAT32;
            case "bfloat16":
            case "bf16":
                // Checkpoints stored in BF16 are read (widened in Java); computing in it is not possible.
                throw new IllegalArgumentException("lethe.model.dtype = '" + dtype + "' is not supported:"
                        + " DJL 0.35.1's PyTorch engine aborts the JVM on any bfloat16 tensor; use"
                        + " float16 (GPU) or float32");
            case "float16":
            case "fp16":
                return DataType.FLOAT16;
            default:
                throw new IllegalArgumentException("lethe.model.dtype: unsupported '" + dtype
                        + "' (expected float32 or float16)");
        }
    }

    /**
     * The settings for a data-parallel job's driver-side master copy (weights and AdamW state, no
     * forward or backward pass): {@code gpu} / {@code gpu:N} become {@code auto} there, so a driver
     * without a GPU drives GPU executors; the tasks still hold to the strict rule.
     */
    public ModelSettings forTrainingDriver() {
        return device.toLowerCase(Locale.ROOT).startsWith("gpu") ? new ModelSettings("auto", dtype, threads, cacheMaxBytes, cacheIdleSeconds)
                : this;
    }

    /**
     * Starts the PyTorch engine, applies the thread setting (and, in a task, holds it to the driver's
     * numeric environment: {@link NumericGuard#enter}) and resolves the device. The rule:
     * <ul>
     * <li>{@code cpu}: the CPU.
     * <li>{@code gpu}: in a Spark task that Spark assigned a GPU ({@code spark.task.resource.gpu.amount}),
     * that address; in a task of a cluster executor without one, an error; elsewhere (the driver,
     * {@code local[*]} tasks) GPU 0.
     * <li>{@code gpu:N}: GPU N, whatever Spark assigned.
     * <li>{@code auto}: the GPU {@code gpu} would pick when the engine sees a GPU (and, in a task of
     * a cluster executor, Spark assigned one), else the CPU.
     * </ul>
     * A GPU the engine cannot see (no CUDA driver, or the CPU natives) is an error naming the key,
     * never a silent fallback to the CPU.
     */
    public Device resolveDevice() {
        Engine engine = Engine.getEngine("PyTorch");
        NumericGuard.enter(threads);
        String name = device.toLowerCase(Locale.ROOT);
        if (name.equals("cpu")) {
            return Device.cpu();
        }
        TaskContext task = TaskContext.get();
        String assigned = assignedGpu(task);
        boolean clusterTask = task != null && SparkEnv.get() != null
                && !"driver".equals(SparkEnv.get().executorId());
        if (name.equals("auto")) {
            if (clusterTask && assigned == null) {
                return Device.cpu();
            }
            // Only now ask the engine to count GPUs (the probe logs CUDA noise on CPU hosts).
            return engine.getGpuCount() > 0 ? checkedGpu(engine, assigned == null ? 0 : ordinal(assigned), assigned)
                    : Device.cpu();
        }
        if (name.equals("gpu")) {
            if (assigned != null) {
                return checkedGpu(engine, ordinal(assigned), assigned);
            }
            if (clusterTask) {
                throw new IllegalArgumentException("lethe.model.device = 'gpu' but Spark assigned this task no GPU:"
                        + " set spark.executor.resource.gpu.amount, spark.task.resource.gpu.amount and a discovery"
                        + " script (deploy/spark-defaults-gpu.conf), or use device = auto");
            }
            return checkedGpu(engine, 0, null);
        }
        if (name.matches("gpu:[0-9]+")) {
            // Parsed here: DJL's parser rejects a GPU id its engine cannot see, without saying why.
            return checkedGpu(engine, Integer.parseInt(name.substring(4)), null);
        }
        Device d;
        try {
            d = Device.fromName(device, engine);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("lethe.model.device: cannot parse '" + device + "'", e);
        }
        return d.isGpu() ? checkedGpu(engine, d.getDeviceId(), null) : d;
    }

    /** The first GPU address Spark assigned {@code task}, or null. */
    private static String assignedGpu(TaskContext task) {
        if (task == null) {
            return null;
        }
        scala.Option<ResourceInformation> gpu = task.resources().get("gpu");
        if (gpu.isEmpty() || gpu.get().addresses().length == 0) {
            return null;
        }
        return gpu.get().addresses()[0];
    }

    private int ordinal(String address) {
        try {
            return Integer.parseInt(address.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("lethe.model.device = '" + device + "': Spark assigned GPU address '"
                    + address + "', which is not a CUDA device ordinal (check the GPU discovery script)", e);
        }
    }

    private Device checkedGpu(Engine engine, int id, String sparkAddress) {
        int count = engine.getGpuCount();
        if (id >= count) {
            String where = sparkAddress == null ? "GPU " + id
                    : "Spark assigned this task GPU address " + sparkAddress + " (spark.task.resource.gpu.amount)";
            String seen = count == 0 ? "sees no GPU: CUDA is unavailable (no CUDA driver, or a jar built without"
                    + " -Pcuda carries only the CPU natives)" : "sees only " + count + " GPU(s)";
            throw new IllegalArgumentException("lethe.model.device = '" + device + "': " + where + ", but the PyTorch"
                    + " engine " + seen + "; refusing to fall back to the CPU");
        }
        return Device.gpu(id);
    }
}
