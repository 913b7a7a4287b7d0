package org.lethe.model;

import ai.djl.pytorch.jni.JniUtils;

/**
 * A scope with autograd's grad mode off on this thread, restored as it was on close. PyTorch's
 * grad mode is per thread and on by default, so an in-place update of a parameter (a leaf that
 * requires grad) fails on a fresh thread ("a leaf Variable that requires grad is being used in an
 * in-place operation") yet passes on one where a gradient collector has since closed: code that
 * updates parameters in place enters this scope rather than relying on the thread it runs on.
 */
public final class NoGrad implements AutoCloseable {
    private final boolean was;

    private NoGrad() {
        was = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
    }

    /** Turns grad mode off until {@link #close}. */
    public static NoGrad enter() {
        return new NoGrad();
    }

    @Override
    public void close() {
        JniUtils.setGradMode(was);
    }
}
