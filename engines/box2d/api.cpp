// The Box2D engine's C API for the page (web/page/envs/box2d/engine.js): what Gymnasium's Box2D envs call
// through pybox2d, as plain functions over pointers. Every number crosses as a double and is rounded to
// float32 here, as pybox2d's SWIG wrappers round Python floats, so the same inputs reach the same Box2D
// calls in the same order.
#include <Box2D/Box2D.h>
#include <stdint.h>
#include <stdlib.h>

#define API(name) extern "C" __attribute__((export_name(#name)))

typedef float32 f32;
static inline f32 f(double x) { return (f32)x; }

// Per-body contact flags, kept as Gymnasium's ContactDetector keeps them: `contact` is set by any
// BeginContact and cleared by any EndContact of the body (a leg's ground_contact), `touched` counts
// BeginContacts (LunarLander's game_over: the lander touched something).
struct Tag {
  int32_t contact;
  int32_t touched;
};

class Listener : public b2ContactListener {
  static void mark(b2Fixture* fx, int begin) {
    Tag* t = (Tag*)fx->GetBody()->GetUserData();
    if (!t) return;
    t->contact = begin;
    if (begin) t->touched++;
  }

 public:
  void BeginContact(b2Contact* c) override {
    mark(c->GetFixtureA(), 1);
    mark(c->GetFixtureB(), 1);
  }
  void EndContact(b2Contact* c) override {
    mark(c->GetFixtureA(), 0);
    mark(c->GetFixtureB(), 0);
  }
};
static Listener listener;

// ---- memory for arrays passed in and out (the JS side's scratch buffer)
API(mem_alloc) void* mem_alloc(int32_t n) { return malloc(n); }
API(mem_free) void mem_free(void* p) { free(p); }

// ---- world
API(world_new) b2World* world_new(double gx, double gy) {
  b2World* w = new b2World(b2Vec2(f(gx), f(gy)));
  w->SetContactListener(&listener);
  return w;
}
API(world_delete) void world_delete(b2World* w) {
  for (b2Body* b = w->GetBodyList(); b; b = b->GetNext()) delete (Tag*)b->GetUserData();
  delete w;
}
API(world_step) void world_step(b2World* w, double dt, int32_t velocity_iters, int32_t position_iters) {
  w->Step(f(dt), velocity_iters, position_iters);
}
API(world_gravity) void world_gravity(b2World* w, double gx, double gy) { w->SetGravity(b2Vec2(f(gx), f(gy))); }

// A ray cast as BipedalWalker's LidarCallback answers it: fixtures with no bit of `category` in their
// categoryBits are ignored (-1), every other hit clips the ray (returns its fraction). out: the last hit
// reported (fraction, x, y), or (1, x2, y2) when none.
class Ray : public b2RayCastCallback {
 public:
  uint16 category;
  f32* out;
  f32 ReportFixture(b2Fixture* fx, const b2Vec2& point, const b2Vec2&, f32 fraction) override {
    if ((fx->GetFilterData().categoryBits & category) == 0) return -1;
    out[0] = fraction;
    out[1] = point.x;
    out[2] = point.y;
    return fraction;
  }
};
API(world_raycast) void world_raycast(b2World* w, double x1, double y1, double x2, double y2, int32_t category,
                                     f32* out) {
  Ray ray;
  ray.category = (uint16)category;
  ray.out = out;
  out[0] = 1;
  out[1] = f(x2);
  out[2] = f(y2);
  w->RayCast(&ray, b2Vec2(f(x1), f(y1)), b2Vec2(f(x2), f(y2)));
}

// ---- bodies: type 0 static, 1 kinematic, 2 dynamic (b2BodyType)
API(body_new) b2Body* body_new(b2World* w, int32_t type, double x, double y, double angle) {
  b2BodyDef d;
  d.type = (b2BodyType)type;
  d.position.Set(f(x), f(y));
  d.angle = f(angle);
  b2Body* b = w->CreateBody(&d);
  b->SetUserData(new Tag());
  return b;
}
API(body_delete) void body_delete(b2World* w, b2Body* b) {
  Tag* t = (Tag*)b->GetUserData();
  w->DestroyBody(b);
  delete t;
}
// out: x, y, angle, vx, vy, angular velocity, and the transform's sin and cos (what render() draws with)
API(body_read) void body_read(b2Body* b, f32* out) {
  const b2Transform& xf = b->GetTransform();
  const b2Vec2& v = b->GetLinearVelocity();
  out[0] = xf.p.x;
  out[1] = xf.p.y;
  out[2] = b->GetAngle();
  out[3] = v.x;
  out[4] = v.y;
  out[5] = b->GetAngularVelocity();
  out[6] = xf.q.s;
  out[7] = xf.q.c;
}
API(body_awake) int32_t body_awake(b2Body* b) { return b->IsAwake(); }
API(body_contact) int32_t body_contact(b2Body* b) { return ((Tag*)b->GetUserData())->contact; }
API(body_touched) int32_t body_touched(b2Body* b) { return ((Tag*)b->GetUserData())->touched; }
API(body_set_contact) void body_set_contact(b2Body* b, int32_t contact) { ((Tag*)b->GetUserData())->contact = contact; }
API(body_set_transform) void body_set_transform(b2Body* b, double x, double y, double angle) {
  b->SetTransform(b2Vec2(f(x), f(y)), f(angle));
}
API(body_set_velocity) void body_set_velocity(b2Body* b, double vx, double vy, double w) {
  b->SetLinearVelocity(b2Vec2(f(vx), f(vy)));
  b->SetAngularVelocity(f(w));
}
API(body_force) void body_force(b2Body* b, double fx, double fy, int32_t wake) {
  b->ApplyForceToCenter(b2Vec2(f(fx), f(fy)), wake != 0);
}
API(body_torque) void body_torque(b2Body* b, double t, int32_t wake) { b->ApplyTorque(f(t), wake != 0); }
API(body_impulse) void body_impulse(b2Body* b, double ix, double iy, double px, double py, int32_t wake) {
  b->ApplyLinearImpulse(b2Vec2(f(ix), f(iy)), b2Vec2(f(px), f(py)), wake != 0);
}

// ---- fixtures (b2FixtureDef's fields; pybox2d's defaults are Box2D's)
static void attach(b2Body* b, const b2Shape* s, double density, double friction, double restitution,
                   int32_t category, int32_t mask) {
  b2FixtureDef d;
  d.shape = s;
  d.density = f(density);
  d.friction = f(friction);
  d.restitution = f(restitution);
  d.filter.categoryBits = (uint16)category;
  d.filter.maskBits = (uint16)mask;
  b->CreateFixture(&d);
}
// xy: n vertex pairs (float64), b2PolygonShape::Set (its convex hull)
API(fixture_polygon) void fixture_polygon(b2Body* b, const double* xy, int32_t n, double density, double friction,
                                         double restitution, int32_t category, int32_t mask) {
  b2Vec2 v[b2_maxPolygonVertices];
  for (int32_t i = 0; i < n; i++) v[i].Set(f(xy[2 * i]), f(xy[2 * i + 1]));
  b2PolygonShape s;
  s.Set(v, n);
  attach(b, &s, density, friction, restitution, category, mask);
}
API(fixture_box) void fixture_box(b2Body* b, double hx, double hy, double density, double friction,
                                 double restitution, int32_t category, int32_t mask) {
  b2PolygonShape s;
  s.SetAsBox(f(hx), f(hy));
  attach(b, &s, density, friction, restitution, category, mask);
}
API(fixture_edge) void fixture_edge(b2Body* b, double x1, double y1, double x2, double y2, double density,
                                   double friction, double restitution, int32_t category, int32_t mask) {
  b2EdgeShape s;
  s.Set(b2Vec2(f(x1), f(y1)), b2Vec2(f(x2), f(y2)));
  attach(b, &s, density, friction, restitution, category, mask);
}
API(fixture_circle) void fixture_circle(b2Body* b, double radius, double x, double y, double density,
                                       double friction, double restitution, int32_t category, int32_t mask) {
  b2CircleShape s;
  s.m_radius = f(radius);
  s.m_p.Set(f(x), f(y));
  attach(b, &s, density, friction, restitution, category, mask);
}

// ---- revolute joints (b2RevoluteJointDef's fields; pybox2d sets referenceAngle from the bodies' angles,
// so the caller passes it)
API(joint_revolute) b2RevoluteJoint* joint_revolute(b2World* w, b2Body* a, b2Body* b, double ax, double ay,
                                                   double bx, double by, double reference_angle,
                                                   int32_t enable_limit, double lower, double upper,
                                                   int32_t enable_motor, double motor_speed,
                                                   double max_motor_torque) {
  b2RevoluteJointDef d;
  d.bodyA = a;
  d.bodyB = b;
  d.localAnchorA.Set(f(ax), f(ay));
  d.localAnchorB.Set(f(bx), f(by));
  d.referenceAngle = f(reference_angle);
  d.enableLimit = enable_limit != 0;
  d.lowerAngle = f(lower);
  d.upperAngle = f(upper);
  d.enableMotor = enable_motor != 0;
  d.motorSpeed = f(motor_speed);
  d.maxMotorTorque = f(max_motor_torque);
  return (b2RevoluteJoint*)w->CreateJoint(&d);
}
API(joint_motor_speed) void joint_motor_speed(b2RevoluteJoint* j, double speed) { j->SetMotorSpeed(f(speed)); }
API(joint_max_torque) void joint_max_torque(b2RevoluteJoint* j, double torque) { j->SetMaxMotorTorque(f(torque)); }
API(joint_angle) f32 joint_angle(b2RevoluteJoint* j) { return j->GetJointAngle(); }
API(joint_speed) f32 joint_speed(b2RevoluteJoint* j) { return j->GetJointSpeed(); }

// ---- the libm Box2D steps with (trig.c), exported for the tests
extern "C" float sinf(float);
extern "C" float cosf(float);
API(libm_sinf) f32 libm_sinf(f32 x) { return sinf(x); }
API(libm_cosf) f32 libm_cosf(f32 x) { return cosf(x); }

// ---- what the page leaves out
// Box2D's only output is b2Log (b2World::Dump and the joints' Dump, reachable through their vtables), which
// calls vprintf. The Makefile compiles b2Settings.cpp with -Dvprintf=b2_log_sink, so b2Log lands here and
// libc's printf machinery stays out of the wasm (no source patch). A page has no console the engine could use.
#include <stdarg.h>
extern "C" int b2_log_sink(const char*, va_list) { return 0; }
// The engine links no C++ runtime (the Makefile's -nostdlib++): Box2D needs only these from it. Allocation
// failure and a pure virtual call (a bug) trap, where libc++'s would print (pulling in the printf machinery).
extern "C" void __cxa_pure_virtual() { __builtin_trap(); }
void* operator new(size_t n) {
  void* p = malloc(n);
  if (!p) __builtin_trap();
  return p;
}
void operator delete(void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
