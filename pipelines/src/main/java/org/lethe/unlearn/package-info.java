/**
 * Unlearning: the {@code unlearn} job and its typed request, the objective it minimizes (a
 * weighted sum of forget and retain loss terms, each normalized by its global count), the loss
 * terms themselves (one small class each, composed, never inherited), and the method presets, a
 * resource file of terms and coefficients. It drives {@code org.lethe.distributed}, which reaches
 * the objective only through the interfaces that package owns.
 */
package org.lethe.unlearn;
