package org.lethe.config;

/** A configuration that cannot be used: unknown key, wrong type, bad value or unreadable file. */
public final class LetheConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public LetheConfigException(String message) {
        super(message);
    }

    public LetheConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
