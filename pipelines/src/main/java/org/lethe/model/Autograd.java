package org.lethe.model;

import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Serializes backward passes within a JVM: DJL's PyTorch gradient collector is process-global, so
 * only one may be open at a time (in local mode every Spark task shares the driver JVM).
 */
public final class Autograd {

    private static final ReentrantLock LOCK = new ReentrantLock(true);

    private Autograd() {}

    /** Runs {@code work} (which opens a gradient collector) while holding the JVM-wide lock. */
    public static <T> T exclusive(Supplier<T> work) {
        LOCK.lock();
        try {
            return work.get();
        } finally {
            LOCK.unlock();
        }
    }
}
