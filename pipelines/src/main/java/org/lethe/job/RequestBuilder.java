package org.lethe.job;

import org.lethe.config.LetheConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Derives one request from a config with typed values set on top (DJL's builder habit): how a job
 * that runs other jobs (demo, continual, relearn) builds their requests without writing config
 * text. The derived config, not a hand-made copy of the fields, is what the request is built
 * from, so its validation, provenance and fingerprint are exactly those of the same values given
 * with {@code --set}. Subclasses name the setters; {@link #build(LetheConfig)} is the request's
 * factory.
 *
 * @param <R> the request type
 * @param <B> the builder's own type, for chaining
 */
public abstract class RequestBuilder<R, B extends RequestBuilder<R, B>> {

    private final LetheConfig base;
    private final Map<String, Object> values = new LinkedHashMap<>();

    protected RequestBuilder(LetheConfig base) {
        this.base = base;
    }

    /** Sets {@code key} (a config key of this request) to {@code value}; a later set wins. */
    protected final B set(String key, Object value) {
        values.put(key, value);
        return self();
    }

    protected abstract B self();

    /** The request's factory, applied to the derived config. */
    protected abstract R build(LetheConfig derived);

    /** The request of the base config with every value set, validated as the factory validates. */
    public final R build() {
        return build(values.isEmpty() ? base : base.with(values));
    }
}
