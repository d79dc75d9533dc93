// Embind's function invoker without `new Function`, for the pages' CSP (no 'unsafe-eval'). @mujoco/mujoco's
// loader builds one JS stub per bound C++ function from source text at load time (Emscripten's default,
// DYNAMIC_EXECUTION=1); web/build/mujoco_engine.mjs swaps that one call for this closure, which does what the
// generated stub does (createJsInvoker in the loader): check the argument count, convert each argument (and
// `this` for methods) to its wire type, call, run the destructors, convert the result back.
// Node (the tests) runs the loader unpatched; the page tests run this path.

/** The invoker of one bound function; `k` carries craftInvokerFunction's locals and the loader's helpers. */
export function invokerWithoutEval(k) {
  const {
    argTypes,
    isClassMethodFunc,
    returns,
    cppInvokerFunc,
    cppTargetFunc,
    humanName,
    minArgs,
    expectedArgCount,
    needsDestructorStack,
    checkArgCount,
    throwBindingError,
    runDestructors,
  } = k;
  const first = isClassMethodFunc ? 2 : 1; // index in `wired` of the first argument (after fn, this)
  return function invoker(...args) {
    checkArgCount(args.length, minArgs, expectedArgCount, humanName, throwBindingError);
    const destructors = needsDestructorStack ? [] : null;
    const wired = [cppTargetFunc];
    if (isClassMethodFunc) wired.push(argTypes[1].toWireType(destructors, this));
    for (let i = 2; i < argTypes.length; i++) wired.push(argTypes[i].toWireType(destructors, args[i - 2]));
    const rv = cppInvokerFunc(...wired);
    if (needsDestructorStack) runDestructors(destructors);
    else {
      for (let i = isClassMethodFunc ? 1 : 2; i < argTypes.length; i++) {
        const dtor = argTypes[i].destructorFunction;
        if (dtor !== null) dtor(i === 1 ? wired[1] : wired[first + i - 2]);
      }
    }
    return returns ? argTypes[0].fromWireType(rv) : undefined;
  };
}
