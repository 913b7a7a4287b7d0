package org.lethe.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import org.apache.spark.SparkEnv;
import org.lethe.model.LanguageModel;
import org.lethe.model.LoraSettings;
import org.lethe.model.ModelSettings;
import org.lethe.model.NumericGuard;
import org.lethe.storage.LocalModels;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The models an executor JVM holds for tasks (the trained model of a run, its ref_model, evaluated
 * and stats models), each under a per-job key, in one least-recently-used cache bounded in
 * parameter bytes ({@code lethe.model.cache_max_bytes}) and idle time
 * ({@code lethe.model.cache_idle_seconds}).
 *
 * <p>Tasks use a model through a {@link Lease}, closed at the end of the partition's work: a
 * leased model is never evicted, so the bound may be passed while every resident model is in use
 * (a model larger than the bound alone is served, and freed once released). Eviction happens when
 * a model is added, when a lease ends, at the next acquire after a model has been idle too long,
 * and from a daemon timer, so an executor that receives no more tasks still frees its models. A
 * driver's {@link #release} only reaches its own JVM (the local master's tasks); on a cluster the
 * bound and the idle time are what free an executor's models.
 *
 * <p>The trained model of a run is kept at the parameter version the driver last broadcast: a
 * lease whose snapshot version differs from the cached one (a new step, a replacement executor, a
 * retried task, a model reloaded after eviction) copies the snapshot in before computing. An
 * evicted trained model is reloaded from its directory and then takes the snapshot, which holds
 * every trained parameter (the others are those of the directory, or LoRA adapters drawn again
 * from their seed), so eviction never changes the numbers. Every acquire, on whichever task
 * thread, applies the thread pin and holds the executor to the driver's numeric environment
 * ({@link NumericGuard#enter}); a lease is used on the thread that acquired it.
 */
public final class ExecutorModelCache {

    private static final Logger LOG = LoggerFactory.getLogger(ExecutorModelCache.class);

    /**
     * What one executor JVM's cache holds and has held, read back from every executor with a Spark
     * job: {@code executorId} from SparkEnv (null outside Spark), resident parameter bytes now and
     * at most since the JVM started (after each admission's evictions), the bound in force, and the
     * evictions for the bound or idleness (a driver's {@link #release} is not one).
     */
    public record Stats(String executorId, int entries, long residentBytes, long highWaterBytes, long maxBytes,
            long evictions) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    private static final class Entry {
        final String key;
        /** Completed once the model is loaded (or failed); waiters for the same key join it. */
        final CompletableFuture<LanguageModel> loaded = new CompletableFuture<>();
        /** Set when loaded; guarded by LOCK, stable while a lease is held. */
        LanguageModel lm;
        long bytes;
        int leases;
        long lastUsedNanos;
        /** Removed by {@link #release} while leased: the last lease closes the model. */
        boolean released;
        /** The snapshot version the parameters hold (trained models); guarded by this entry. */
        long version = -1;

        Entry(String key) {
            this.key = key;
        }
    }

    private static final Object LOCK = new Object();
    /** Access-ordered: iteration starts at the least recently used entry. Guarded by LOCK. */
    private static final LinkedHashMap<String, Entry> ENTRIES = new LinkedHashMap<>(16, 0.75f, true);
    private static long maxBytes = ModelSettings.DEFAULT_CACHE_MAX_BYTES;
    private static long idleNanos = TimeUnit.SECONDS.toNanos(ModelSettings.DEFAULT_CACHE_IDLE_SECONDS);
    private static long residentBytes;
    private static long highWaterBytes;
    private static long evictions;
    private static ScheduledExecutorService timer;

    private ExecutorModelCache() {}

    /** A task's use of a cached model: the model stays loaded (never evicted) until this is closed. */
    public static final class Lease implements AutoCloseable {
        private final Entry entry;
        private final ParameterSnapshot snapshot;
        private boolean closed;

        private Lease(Entry entry, ParameterSnapshot snapshot) {
            this.entry = entry;
            this.snapshot = snapshot;
        }

        /**
         * The leased model; a trained model first takes the lease's snapshot if it holds another
         * version (a comparison when it holds it: micro-batches call this each time). Callers of a
         * trained model hold {@link org.lethe.model.Autograd#exclusive}, so parameters never change
         * under a running computation of this JVM.
         */
        public LanguageModel model() {
            if (closed) {
                throw new IllegalStateException("the lease of model " + entry.key + " is closed");
            }
            if (snapshot == null) {
                return entry.lm;
            }
            synchronized (entry) {
                if (entry.version != snapshot.version()) {
                    LocalExchange local = snapshot.isLocal() ? LocalExchange.find(entry.key) : null;
                    if (local != null) {
                        local.loadInto(entry.lm, snapshot.names());
                    } else {
                        snapshot.loadInto(entry.lm);
                    }
                    entry.version = snapshot.version();
                }
                return entry.lm;
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            List<Entry> evicted;
            LanguageModel orphan = null;
            synchronized (LOCK) {
                entry.leases--;
                entry.lastUsedNanos = System.nanoTime();
                if (entry.released) {
                    orphan = entry.leases == 0 ? entry.lm : null;
                } else {
                    // Used until now: the most recently used entry, not the one acquired longest ago.
                    ENTRIES.get(entry.key);
                }
                evicted = trim(entry.lastUsedNanos);
            }
            if (orphan != null) {
                orphan.close();
            }
            closeAll(evicted);
        }
    }

    /**
     * A lease of the trained model of run {@code key} (loaded from {@code modelDir}, with LoRA
     * adapters attached when {@code lora} is given, on first use or after an eviction) holding the
     * parameters of {@code snapshot} whenever {@link Lease#model()} returns it.
     */
    public static Lease get(String key, String modelDir, ModelSettings settings, LoraSettings lora,
            ParameterSnapshot snapshot) {
        return acquire(key, settings, snapshot, () -> load(modelDir, settings, lora));
    }

    /** A model directory with LoRA adapters attached when {@code lora} is given and it has none yet. */
    public static LanguageModel load(String modelDir, ModelSettings settings, LoraSettings lora) {
        LanguageModel lm = LocalModels.load(modelDir, dir -> LanguageModel.load(dir, settings));
        try {
            if (lora != null && lm.loraSettings().isEmpty()) {
                lm.attachLora(lora);
            } else if (lora != null && !lm.loraSettings().get().equals(lora)) {
                throw new IllegalArgumentException("lethe.lora: " + modelDir + " holds a LoRA adapter with "
                        + lm.loraSettings().get() + ", not the configured " + lora);
            }
            return lm;
        } catch (RuntimeException ex) {
            lm.close();
            throw ex;
        }
    }

    /**
     * A lease of a frozen model (a {@code ref_model}, an evaluated model) cached under {@code key}:
     * loaded from {@code modelDir} on first use (or after an eviction) and never changed.
     */
    public static Lease frozen(String key, String modelDir, ModelSettings settings) {
        return acquire(key, settings, null, () -> LocalModels.load(modelDir, dir -> LanguageModel.load(dir, settings)));
    }

    /**
     * A lease of a model whose parameters the cache never changes, with LoRA adapters attached when
     * {@code lora} is given (a stats job's model), cached under {@code key}.
     */
    public static Lease frozen(String key, String modelDir, ModelSettings settings, LoraSettings lora) {
        return acquire(key, settings, null, () -> load(modelDir, settings, lora));
    }

    /**
     * Frees the model cached under {@code key} in the JVM this is called in (a finished run's, under
     * a local master); a leased model is closed when its last lease ends.
     */
    public static void release(String key) {
        LanguageModel close = null;
        synchronized (LOCK) {
            Entry e = ENTRIES.remove(key);
            if (e == null) {
                return;
            }
            e.released = true;
            if (e.lm != null) {
                residentBytes -= e.bytes;
                if (e.leases == 0) {
                    close = e.lm;
                }
            }
        }
        if (close != null) {
            close.close();
        }
    }

    /** This JVM's cache: its executor, entries, resident and high-water bytes, bound and evictions so far. */
    public static Stats stats() {
        SparkEnv env = SparkEnv.get();
        synchronized (LOCK) {
            return new Stats(env == null ? null : env.executorId(), ENTRIES.size(), residentBytes, highWaterBytes,
                    maxBytes, evictions);
        }
    }

    /**
     * The {@link #stats} of the executors a small job reaches (two tasks per core of the application,
     * so every live executor in practice, not by guarantee), one per executor, by executor id.
     */
    public static List<Stats> fromExecutors(org.apache.spark.SparkContext spark) {
        int tasks = 2 * Math.max(1, spark.defaultParallelism());
        List<Integer> slots = new ArrayList<>();
        for (int i = 0; i < tasks; i++) {
            slots.add(i);
        }
        Map<String, Stats> byExecutor = new java.util.TreeMap<>();
        for (Stats s : org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark).parallelize(slots, tasks)
                .map(x -> stats()).collect()) {
            byExecutor.put(String.valueOf(s.executorId()), s);
        }
        return new ArrayList<>(byExecutor.values());
    }

    /**
     * The bytes of {@code lm}'s parameters (each array's element count times its data type's size,
     * base weights and attached LoRA adapters, a tied embedding once): what an entry counts against
     * the bound. Buffers such as the rotary frequencies are not parameters and not counted.
     */
    public static long parameterBytes(LanguageModel lm) {
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long bytes = 0;
        for (Map<String, Parameter> params : List.of(lm.block().hfParameters(), lm.block().trainableParameters())) {
            for (Parameter p : params.values()) {
                if (seen.add(p)) {
                    NDArray a = p.getArray();
                    bytes += a.size() * a.getDataType().getNumOfBytes();
                }
            }
        }
        return bytes;
    }

    /** The cached keys, least recently used first (tests). */
    static List<String> keys() {
        synchronized (LOCK) {
            return List.copyOf(ENTRIES.keySet());
        }
    }

    /**
     * Evicts every model no task is using and clears the high-water mark and eviction count: a test
     * that measures the cache starts from here (the JVM's earlier tests shared it).
     */
    static void resetForTest() {
        List<Entry> evicted = new ArrayList<>();
        synchronized (LOCK) {
            for (Iterator<Entry> it = ENTRIES.values().iterator(); it.hasNext();) {
                Entry e = it.next();
                if (e.leases == 0 && e.lm != null) {
                    it.remove();
                    residentBytes -= e.bytes;
                    evicted.add(e);
                }
            }
            highWaterBytes = residentBytes;
            evictions = 0;
        }
        closeAll(evicted);
    }

    private static Lease acquire(String key, ModelSettings settings, ParameterSnapshot snapshot,
            Supplier<LanguageModel> loader) {
        NumericGuard.enter(settings.threads());
        Entry e;
        boolean load;
        List<Entry> idle;
        synchronized (LOCK) {
            // Every task of a deployment carries the same settings; the latest one's apply.
            maxBytes = settings.cacheMaxBytes();
            idleNanos = TimeUnit.SECONDS.toNanos(settings.cacheIdleSeconds());
            startTimer();
            long now = System.nanoTime();
            idle = trim(now);
            e = ENTRIES.get(key);
            load = e == null;
            if (load) {
                e = new Entry(key);
                ENTRIES.put(key, e);
            }
            e.leases++;
            e.lastUsedNanos = now;
        }
        closeAll(idle);
        if (load) {
            admit(e, loader);
        } else {
            try {
                e.loaded.join();
            } catch (CompletionException ex) {
                synchronized (LOCK) {
                    e.leases--;
                }
                throw ex.getCause() instanceof RuntimeException r ? r : ex;
            }
        }
        return new Lease(e, snapshot);
    }

    /** Loads entry {@code e} (outside the lock: a load takes seconds) and counts it against the bound. */
    private static void admit(Entry e, Supplier<LanguageModel> loader) {
        LanguageModel lm;
        try {
            lm = loader.get();
        } catch (RuntimeException | Error ex) {
            synchronized (LOCK) {
                e.leases--;
                ENTRIES.remove(e.key, e);
            }
            e.loaded.completeExceptionally(ex);
            throw ex;
        }
        long bytes = parameterBytes(lm);
        List<Entry> evicted;
        synchronized (LOCK) {
            e.lm = lm;
            e.bytes = bytes;
            if (e.released) {
                evicted = List.of();
            } else {
                residentBytes += bytes;
                evicted = trim(System.nanoTime());
                highWaterBytes = Math.max(highWaterBytes, residentBytes);
            }
        }
        closeAll(evicted);
        e.loaded.complete(lm);
    }

    /**
     * Removes, least recently used first, the models no task is using that were idle longer than
     * the idle time or that keep the cache over its bound; the caller closes them outside the lock.
     */
    private static List<Entry> trim(long now) {
        List<Entry> evicted = new ArrayList<>();
        for (Iterator<Entry> it = ENTRIES.values().iterator(); it.hasNext();) {
            Entry e = it.next();
            if (e.leases > 0 || e.lm == null) {
                continue;
            }
            boolean idle = idleNanos > 0 && now - e.lastUsedNanos > idleNanos;
            if (idle || residentBytes > maxBytes) {
                it.remove();
                residentBytes -= e.bytes;
                evictions++;
                evicted.add(e);
                LOG.info("model cache: evicted {} ({} bytes, {}); {} of {} bytes resident", e.key, e.bytes,
                        idle ? "idle for " + TimeUnit.NANOSECONDS.toSeconds(now - e.lastUsedNanos) + " s"
                                : "least recently used over the bound", residentBytes, maxBytes);
            }
        }
        return evicted;
    }

    private static void closeAll(List<Entry> evicted) {
        for (Entry e : evicted) {
            e.lm.close();
        }
    }

    /** Starts the daemon that frees idle models of an executor that receives no more tasks (under LOCK). */
    private static void startTimer() {
        if (timer != null) {
            return;
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "lethe-model-cache-idle");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(() -> {
            try {
                List<Entry> evicted;
                synchronized (LOCK) {
                    evicted = trim(System.nanoTime());
                }
                closeAll(evicted);
            } catch (RuntimeException ex) {
                // A failure must not end the schedule (the executor would keep its idle models).
                LOG.warn("model cache: idle eviction failed", ex);
            }
        }, 1, 1, TimeUnit.SECONDS);
    }
}
