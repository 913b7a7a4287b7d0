package org.lethe.model;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What decides, besides the code, the config and the data, which float32 results libtorch's CPU
 * kernels give: ATen's CPU capability (the vectorized kernels it dispatches to), MKL's code path
 * ({@code MKL_CBWR}, its GEMM) and the calling thread's intra-op thread count, with the libtorch
 * version. bench/numerics-matrix found that each of these changes a seeded run's weights on one
 * machine, and that {@code MKL_ENABLE_INSTRUCTIONS} and {@code ONEDNN_MAX_CPU_ISA} do not (they are
 * recorded nowhere and pinned by no launcher). Two computations in equal environments give bitwise
 * equal results on any x86-64 CPU that can run the pinned kernels.
 *
 * @param cpuCapability the capability ATen dispatches to: {@code avx512}, {@code avx2} or
 *     {@code default} on x86-64 (the {@link #ATEN} variable when set to a value ATen knows, else the
 *     best this CPU supports, as ATen decides), {@code n/a (arch)} elsewhere
 * @param mklCbwr the {@link #MKL} variable, or {@code unset}
 * @param threads the calling thread's torch intra-op thread count
 * @param libtorch the PyTorch engine's version
 * @param cpu the CPU's model name and its best capability (recorded, never compared: pinning is
 *     what lets different CPUs agree)
 */
public record NumericEnvironment(String cpuCapability, String mklCbwr, int threads, String libtorch, String cpu)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    /** ATen's CPU capability variable (read once, when libtorch first dispatches). */
    public static final String ATEN = "ATEN_CPU_CAPABILITY";
    /** MKL's conditional numerical reproducibility branch. */
    public static final String MKL = "MKL_CBWR";
    /**
     * The values reproducible runs pin: the best path every x86-64 CPU of the last decade runs
     * (AVX2 with FMA: Intel since Haswell, AMD since Zen). The launchers set the same values
     * (conf/numerics.env; NumericPinsTest keeps them in step).
     */
    public static final Map<String, String> PINS = pins();

    private static final String UNSET = "unset";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static volatile Cpu thisCpu;
    private static volatile String engineVersion;

    private static Map<String, String> pins() {
        Map<String, String> pins = new LinkedHashMap<>();
        pins.put(ATEN, "avx2");
        pins.put(MKL, "AVX2");
        return java.util.Collections.unmodifiableMap(pins);
    }

    /** The environment the calling thread computes in (starts the PyTorch engine if needed). */
    public static NumericEnvironment current() {
        String version = version(); // first: starts the engine JniUtils calls into
        return of(System.getenv(), thisCpu(), JniUtils.getNumThreads(), version);
    }

    /** The environment {@code env} gives on {@code cpu} with {@code threads} threads and libtorch {@code version}. */
    static NumericEnvironment of(Map<String, String> env, Cpu cpu, int threads, String version) {
        String mkl = env.get(MKL);
        return new NumericEnvironment(capability(env.get(ATEN), cpu), mkl == null ? UNSET : mkl, threads, version,
                cpu.model() + " (" + cpu.best() + ")");
    }

    /**
     * ATen's choice: a requested {@code avx512}, {@code avx2} or {@code default} as given (ATen does not
     * check that the CPU has it), anything else ignored in favour of the best the CPU supports.
     */
    static String capability(String requested, Cpu cpu) {
        if (!cpu.x86()) {
            return "n/a (" + cpu.arch() + ")";
        }
        if (requested != null && Set.of("avx512", "avx2", "default").contains(requested)) {
            return requested;
        }
        return cpu.best();
    }

    /**
     * What keeps {@code env} on {@code cpu} from computing in the pinned environment, one sentence per
     * variable (empty when pinned): an unset or other value, or a pinned capability this CPU lacks
     * (libtorch would run instructions the CPU does not have).
     */
    static List<String> unpinned(Map<String, String> env, Cpu cpu) {
        List<String> problems = new ArrayList<>();
        if (!cpu.x86()) {
            return problems; // ATen's x86 capabilities and MKL's branches do not exist there
        }
        for (Map.Entry<String, String> pin : PINS.entrySet()) {
            String value = env.get(pin.getKey());
            if (value == null) {
                problems.add(pin.getKey() + " is not set (expected " + pin.getValue() + ")");
            } else if (!value.equals(pin.getValue())) {
                problems.add(pin.getKey() + "=" + value + " (expected " + pin.getValue() + ")");
            }
        }
        String aten = PINS.get(ATEN);
        if (cpu.known() && !cpu.supports(aten)) {
            problems.add("this CPU (" + cpu.model() + ") lacks what " + ATEN + "=" + aten + " needs ("
                    + String.join(", ", Cpu.needs(aten)) + "): it cannot compute in the pinned environment");
        }
        return problems;
    }

    /** {@link #unpinned(Map, Cpu)} for this process. */
    public static List<String> unpinned() {
        return unpinned(System.getenv(), thisCpu());
    }

    /**
     * How {@code other} differs from this environment, one "what: value here, value there" phrase per
     * compared field (the CPU model is not compared); empty when they compute alike.
     */
    public List<String> differences(NumericEnvironment other, String here, String there) {
        List<String> out = new ArrayList<>();
        compare(out, "ATen CPU capability (" + ATEN + ")", cpuCapability, other.cpuCapability, here, there);
        compare(out, MKL, mklCbwr, other.mklCbwr, here, there);
        compare(out, "torch intra-op threads (lethe.model.threads)", String.valueOf(threads),
                String.valueOf(other.threads), here, there);
        compare(out, "libtorch", libtorch, other.libtorch, here, there);
        return out;
    }

    private static void compare(List<String> out, String what, String a, String b, String here, String there) {
        if (!a.equals(b)) {
            out.add(what + ": '" + a + "' " + here + ", '" + b + "' " + there);
        }
    }

    /** This environment as a JSON object (the {@code runs} table's {@code numerics_json}). */
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("cpu_capability", cpuCapability);
        o.put("mkl_cbwr", mklCbwr);
        o.put("torch_threads", threads);
        o.put("libtorch", libtorch);
        o.put("cpu", cpu);
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The environment {@link #toJson()} wrote. */
    public static NumericEnvironment fromJson(String json) {
        try {
            var o = JSON.readTree(json);
            return new NumericEnvironment(o.get("cpu_capability").asText(), o.get("mkl_cbwr").asText(),
                    o.get("torch_threads").asInt(), o.get("libtorch").asText(), o.get("cpu").asText());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not a numeric environment: " + json, e);
        }
    }

    private static String version() {
        if (engineVersion == null) {
            engineVersion = Engine.getEngine("PyTorch").getVersion();
        }
        return engineVersion;
    }

    private static Cpu thisCpu() {
        if (thisCpu == null) {
            thisCpu = Cpu.local();
        }
        return thisCpu;
    }

    /**
     * A CPU as far as ATen's dispatch cares: its architecture and, on Linux, its model name and
     * feature flags (empty when unknown).
     */
    record Cpu(String arch, String model, Set<String> flags) implements Serializable {

        static Cpu local() {
            String arch = System.getProperty("os.arch", "unknown").toLowerCase(Locale.ROOT);
            Path info = Path.of("/proc/cpuinfo");
            String model = "unknown CPU";
            Set<String> flags = new TreeSet<>();
            if (Files.isReadable(info)) {
                try {
                    for (String line : Files.readAllLines(info)) {
                        int colon = line.indexOf(':');
                        if (colon < 0) {
                            continue;
                        }
                        String key = line.substring(0, colon).strip();
                        String value = line.substring(colon + 1).strip();
                        if (key.equals("model name") && model.equals("unknown CPU")) {
                            model = value;
                        } else if (key.equals("flags") && flags.isEmpty()) {
                            flags.addAll(Arrays.asList(value.split("\\s+")));
                        }
                    }
                } catch (IOException e) {
                    flags.clear(); // unknown: the requested capability is taken at its word
                }
            }
            return new Cpu(arch, model, flags);
        }

        boolean x86() {
            return arch.equals("amd64") || arch.equals("x86_64");
        }

        boolean known() {
            return !flags.isEmpty();
        }

        /** The flags ATen requires for {@code capability}. */
        static List<String> needs(String capability) {
            switch (capability) {
                case "avx512":
                    return List.of("avx512vl", "avx512bw", "avx512dq", "fma");
                case "avx2":
                    return List.of("avx2", "fma");
                default:
                    return List.of();
            }
        }

        boolean supports(String capability) {
            return flags.containsAll(needs(capability));
        }

        /** The capability ATen picks on this CPU when not told: the best it supports. */
        String best() {
            if (!known()) {
                return "unknown";
            }
            return supports("avx512") ? "avx512" : supports("avx2") ? "avx2" : "default";
        }
    }
}
