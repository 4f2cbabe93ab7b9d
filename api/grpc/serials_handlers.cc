// Serials and components (OVGS AddSerial and friends; GetComponents streams).
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/grpc/internal/codec.h"
#include "api/grpc/internal/ovgs_service.h"
#include "api/grpc/internal/status.h"

namespace masa::api::grpc_internal {
namespace {

using service::Caller;

// Writes a group's components one message at a time: the listing is read on a worker
// thread, then each write starts when the one before it is done (gRPC's threads).
class ComponentsWriter final : public grpc::ServerWriteReactor<ovgs::v1::GetComponentsResponse> {
 public:
  ComponentsWriter(Calls& calls, const service::Serials* serials,
                   grpc::CallbackServerContext* context,
                   const ovgs::v1::GetComponentsRequest* request) {
    calls.Authenticated(context, [this, serials, request](absl::StatusOr<Caller> caller) {
      if (!caller.ok()) return Finish(ToGrpcStatus(caller.status()));
      if (absl::Status s = Required("group_id", request->group_id()); !s.ok()) {
        return Finish(ToGrpcStatus(s));
      }
      auto components = serials->ListComponents(*caller, request->group_id());
      if (!components.ok()) return Finish(ToGrpcStatus(components.status()));
      components_ = *std::move(components);
      WriteNext();
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke off"));
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (next_ == components_.size()) return Finish(grpc::Status::OK);
    const service::SerialDetails& serial = components_[next_++];
    message_.Clear();
    EncodeComponent(serial.serial, message_.mutable_component());
    EncodeSerial(serial, message_.mutable_serial());
    StartWrite(&message_);
  }

  std::vector<service::SerialDetails> components_;
  size_t next_ = 0;
  ovgs::v1::GetComponentsResponse message_;
};

}  // namespace

grpc::ServerWriteReactor<ovgs::v1::GetComponentsResponse>* OvgsService::GetComponents(
    grpc::CallbackServerContext* context, const ovgs::v1::GetComponentsRequest* request) {
  return new ComponentsWriter(calls_, services_.serials, context, request);
}

grpc::ServerUnaryReactor* OvgsService::AddSerial(grpc::CallbackServerContext* context,
                                                 const ovgs::v1::AddSerialRequest* request,
                                                 ovgs::v1::AddSerialResponse*) {
  return calls_.Unary(context, [this, request](const Caller& caller) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(
        service::SerialRef serial,
        DecodeComponent("component", request->has_component(), request->component()));
    MASA_RETURN_IF_ERROR(Required("group_id", request->group_id()));
    MASA_ASSIGN_OR_RETURN(service::AssignResult placed,
                          services_.serials->PlaceSerials(caller, request->group_id(), {serial}));
    if (placed.assigned == 0 && placed.unchanged > 0) {
      return absl::AlreadyExistsError(absl::StrCat("component ", serial.ien, "/",
                                                   serial.serial_number, " is already in group ",
                                                   request->group_id()));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OvgsService::RemoveSerial(grpc::CallbackServerContext* context,
                                                    const ovgs::v1::RemoveSerialRequest* request,
                                                    ovgs::v1::RemoveSerialResponse*) {
  return calls_.Unary(context, [this, request](const Caller& caller) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(
        service::SerialRef serial,
        DecodeComponent("component", request->has_component(), request->component()));
    MASA_RETURN_IF_ERROR(Required("group_id", request->group_id()));
    return services_.serials->RemoveSerial(caller, serial, request->group_id());
  });
}

grpc::ServerUnaryReactor* OvgsService::GetSerial(grpc::CallbackServerContext* context,
                                                 const ovgs::v1::GetSerialRequest* request,
                                                 ovgs::v1::GetSerialResponse* response) {
  return calls_.Unary(context, [this, request, response](const Caller& caller) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(
        service::SerialRef serial,
        DecodeComponent("component", request->has_component(), request->component()));
    MASA_ASSIGN_OR_RETURN(auto details, services_.serials->GetSerials(caller, {serial}));
    if (details.size() != 1) return absl::InternalError("GetSerials answered no serial");
    EncodeSerial(details.front(), response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OvgsService::GetSerials(grpc::CallbackServerContext* context,
                                                  const ovgs::v1::GetSerialsRequest* request,
                                                  ovgs::v1::GetSerialsResponse* response) {
  return calls_.Unary(context, [this, request, response](const Caller& caller) -> absl::Status {
    if (request->components().empty()) {
      return absl::InvalidArgumentError("components is required (one or more)");
    }
    std::vector<service::SerialRef> serials;
    for (int i = 0; i < request->components_size(); ++i) {
      MASA_ASSIGN_OR_RETURN(
          service::SerialRef serial,
          DecodeComponent(absl::StrCat("components[", i, "]"), true, request->components(i)));
      serials.push_back(std::move(serial));
    }
    MASA_ASSIGN_OR_RETURN(auto details, services_.serials->GetSerials(caller, serials));
    for (const service::SerialDetails& serial : details) {
      EncodeSerial(serial, response->add_serials());
    }
    return absl::OkStatus();
  });
}

}  // namespace masa::api::grpc_internal
