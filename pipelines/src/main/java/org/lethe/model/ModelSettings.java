package org.lethe.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import org.lethe.config.LetheConfig;

import java.util.Locale;

/**
 * Where and how a model computes: DJL device name (cpu, gpu, gpu:1 ...), compute dtype (float32, or
 * float16 for a frozen base on GPU) and the torch intra-op thread count (0 keeps the engine's default).
 */
public record ModelSettings(String device, String dtype, int threads) implements java.io.Serializable {

    /** float32 on CPU with the engine's default threads: what tests and the demo use here. */
    public static ModelSettings defaults() {
        return new ModelSettings("cpu", "float32", 0);
    }

    public ModelSettings {
        if (device == null || device.isBlank()) {
            throw new IllegalArgumentException("lethe.model.device must name a device (cpu, gpu, gpu:0)");
        }
        parseDtype(dtype);
        if (threads < 0) {
            throw new IllegalArgumentException("lethe.model.threads must be >= 0, got " + threads);
        }
    }

    /** The {@code lethe.model.*} settings of a resolved config. */
    public static ModelSettings of(LetheConfig config) {
        return new ModelSettings(config.modelDevice(), config.modelDtype(), config.modelThreads());
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
     * Starts the PyTorch engine, applies the thread setting and resolves the device; a GPU that
     * the engine cannot see is an error, never a silent fallback to CPU.
     */
    public Device resolveDevice() {
        Engine engine = Engine.getEngine("PyTorch");
        if (threads > 0 && JniUtils.getNumThreads() != threads) {
            JniUtils.setNumThreads(threads);
        }
        Device d;
        try {
            d = Device.fromName(device, engine);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("lethe.model.device: cannot parse '" + device + "'", e);
        }
        // Only a GPU request asks the engine to count GPUs (the probe logs CUDA noise on CPU hosts).
        if (d.isGpu() && d.getDeviceId() >= engine.getGpuCount()) {
            throw new IllegalArgumentException("lethe.model.device = '" + device + "' but the PyTorch"
                    + " engine sees " + engine.getGpuCount() + " GPU(s)");
        }
        return d;
    }
}
