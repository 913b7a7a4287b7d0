package org.lethe.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import org.lethe.model.LanguageModel;
import org.lethe.model.NoGrad;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The same-JVM path of a data-parallel step under a local master, where the driver and every task
 * share one JVM: tasks copy the trained parameters straight from the driver's master model and
 * leave their gradients here as native arrays, instead of the driver serializing a snapshot into
 * a broadcast and each task serializing its gradient into a task result (on the bench-25m model
 * those two copies through Java serialization were a third of a step). The driver opens one per
 * trainer under its key; a cluster executor's JVM has none, so its tasks always take the
 * serialized path. Both paths add the same float32 arrays in the same order, so they train
 * bitwise alike.
 */
final class LocalExchange implements AutoCloseable {

    private static final Map<String, LocalExchange> OPEN = new ConcurrentHashMap<>();

    private record Deposit(long version, Map<String, NDArray> gradients) {}

    private final String key;
    private final LanguageModel master;
    private final NDManager manager;
    private final Map<Integer, Deposit> deposits = new HashMap<>();

    private LocalExchange(String key, LanguageModel master) {
        this.key = key;
        this.master = master;
        this.manager = master.manager().newSubManager();
    }

    /** Opens the exchange of trainer {@code key} in this (the driver's) JVM. */
    static LocalExchange open(String key, LanguageModel master) {
        LocalExchange e = new LocalExchange(key, master);
        if (OPEN.putIfAbsent(key, e) != null) {
            e.manager.close();
            throw new IllegalStateException("a local exchange for " + key + " is already open");
        }
        return e;
    }

    /** The exchange of trainer {@code key}, or null in a JVM where the driver did not open one. */
    static LocalExchange find(String key) {
        return OPEN.get(key);
    }

    /**
     * Copies the master's current values of {@code names} into {@code lm}'s parameters of the
     * same names, natively (grad mode off; across devices when the task's model is elsewhere).
     */
    void loadInto(LanguageModel lm, List<String> names) {
        // A copy into a parameter (a leaf that requires grad) is an in-place op autograd refuses
        // while grad mode is on, which it is by default on a fresh task thread.
        try (NoGrad noGrad = NoGrad.enter()) {
            for (String name : names) {
                NDArray from = ParameterSnapshot.parameter(master, name).getArray();
                NDArray to = ParameterSnapshot.parameter(lm, name).getArray();
                if (!from.getShape().equals(to.getShape())) {
                    throw new IllegalStateException(name + ": master " + from.getShape() + ", task model " + to.getShape());
                }
                if (from.getDevice().equals(to.getDevice())) {
                    to.set(new NDIndex("..."), from);
                } else {
                    try (NDArray moved = from.toDevice(to.getDevice(), true)) {
                        to.set(new NDIndex("..."), moved);
                    }
                }
            }
        }
    }

    /**
     * Keeps copies of {@code gradients} (by parameter name) as micro-batch {@code micro}'s
     * contribution to step {@code version}; a retried task replaces its earlier deposit.
     */
    void deposit(long version, int micro, Map<String, NDArray> gradients) {
        Map<String, NDArray> copies = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> g : gradients.entrySet()) {
            NDArray c = g.getValue().duplicate();
            c.attach(manager);
            NDScope.unregister(c);
            copies.put(g.getKey(), c);
        }
        Deposit old;
        synchronized (deposits) {
            old = deposits.put(micro, new Deposit(version, copies));
        }
        if (old != null) {
            old.gradients().values().forEach(NDArray::close);
        }
    }

    /**
     * Adds {@code gradients} in place to micro-batch {@code micro}'s deposit of step
     * {@code version} (a task summing its micro-batches in tree mode).
     */
    void addTo(long version, int micro, Map<String, NDArray> gradients) {
        Deposit d;
        synchronized (deposits) {
            d = deposits.get(micro);
        }
        if (d == null || d.version() != version) {
            throw new IllegalStateException("no deposit of micro-batch " + micro + " for step version " + version);
        }
        gradients.forEach((name, g) -> d.gradients().get(name).addi(g));
    }

    /**
     * Removes micro-batch {@code micro}'s deposit of step {@code version} and hands its arrays to
     * {@code owner}, on its device.
     */
    Map<String, NDArray> take(long version, int micro, NDManager owner) {
        Deposit d;
        synchronized (deposits) {
            d = deposits.remove(micro);
        }
        if (d == null || d.version() != version) {
            throw new IllegalStateException("trainer " + key + ": micro-batch " + micro + " left no gradient for step"
                    + " version " + version + (d == null ? "" : " (found version " + d.version() + ")"));
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> g : d.gradients().entrySet()) {
            NDArray a = g.getValue();
            if (!a.getDevice().equals(owner.getDevice())) {
                // A task model on another device than the driver's master (e.g. gpu:1 and auto).
                NDArray moved = a.toDevice(owner.getDevice(), true);
                a.close();
                a = moved;
            }
            a.attach(owner);
            out.put(g.getKey(), a);
        }
        return out;
    }

    /** Frees deposits a failed step left behind. */
    void clear() {
        synchronized (deposits) {
            deposits.values().forEach(d -> d.gradients().values().forEach(NDArray::close));
            deposits.clear();
        }
    }

    @Override
    public void close() {
        OPEN.remove(key, this);
        clear();
        manager.close();
    }
}
