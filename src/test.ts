/**
 * `houndsight/test`: test an agent without a server. `HoundsightTest.layer({ gate })` gives the
 * in-memory Recorder and a fake gate (`FakeGate.approveAll`, `rejectAll`, `block`, `modify`,
 * `script`, `decideWith`, `neverAnswers`, `delayed`); read back trails, steps, review steps,
 * the requests the gate saw, and the bypass flags.
 *
 * @since 0.1.0
 */

/**
 * The test layer and its accessors.
 *
 * @since 0.1.0
 */
export * as HoundsightTest from "./layers/HoundsightTest.js"

/**
 * Fake gates.
 *
 * @since 0.1.0
 */
export * as FakeGate from "./layers/FakeGate.js"

/**
 * The in-memory Recorder (also exported from `houndsight`).
 *
 * @since 0.1.0
 */
export * as Memory from "./layers/Memory.js"
