package org.lethe.distributed;

import org.lethe.model.LanguageModel;
import org.lethe.model.LoraSettings;
import org.lethe.model.ModelSettings;
import org.lethe.model.NumericGuard;
import org.lethe.storage.LocalModels;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The model of a training run, loaded once per executor JVM and kept at the parameter version the
 * driver last broadcast: a task whose snapshot version differs from the cached one (a new step, a
 * replacement executor, a retried task) copies the snapshot in before computing. Every use, on
 * whichever task thread, applies the thread pin and holds the executor to the driver's numeric
 * environment ({@link NumericGuard#enter}).
 */
public final class ExecutorModelCache {

    private static final class Entry {
        final LanguageModel lm;
        long version = -1;

        Entry(LanguageModel lm) {
            this.lm = lm;
        }
    }

    private static final Map<String, Entry> MODELS = new ConcurrentHashMap<>();

    private ExecutorModelCache() {}

    /**
     * The cached model for {@code key} (loaded from {@code modelDir} on first use) holding the
     * parameters of {@code snapshot}. Callers hold {@link org.lethe.model.Autograd#exclusive}, so
     * parameters never change under a running computation of this JVM.
     */
    public static LanguageModel get(String key, String modelDir, ModelSettings settings, LoraSettings lora,
            ParameterSnapshot snapshot) {
        NumericGuard.enter(settings.threads());
        Entry e = MODELS.computeIfAbsent(key, k -> new Entry(load(modelDir, settings, lora)));
        synchronized (e) {
            if (e.version != snapshot.version()) {
                LocalExchange local = snapshot.isLocal() ? LocalExchange.find(key) : null;
                if (local != null) {
                    local.loadInto(e.lm, snapshot.names());
                } else {
                    snapshot.loadInto(e.lm);
                }
                e.version = snapshot.version();
            }
            return e.lm;
        }
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
     * A frozen model (the {@code ref_model}) cached under {@code key}: loaded from {@code modelDir}
     * on first use and never changed.
     */
    public static LanguageModel frozen(String key, String modelDir, ModelSettings settings) {
        NumericGuard.enter(settings.threads());
        return MODELS.computeIfAbsent(key, k -> new Entry(LocalModels.load(modelDir, dir -> LanguageModel.load(dir, settings)))).lm;
    }

    /** Frees the model of a finished run (on the JVM this is called in). */
    public static void release(String key) {
        Entry e = MODELS.remove(key);
        if (e != null) {
            e.lm.close();
        }
    }
}
