package dev.ferry.api.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * The Ferry file transfer service.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: ferry/v1/ferry.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class FerryServiceGrpc {

  private FerryServiceGrpc() {}

  public static final String SERVICE_NAME = "ferry.v1.FerryService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.CreateTaskRequest,
      dev.ferry.api.v1.CreateTaskResponse> getCreateTaskMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateTask",
      requestType = dev.ferry.api.v1.CreateTaskRequest.class,
      responseType = dev.ferry.api.v1.CreateTaskResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.CreateTaskRequest,
      dev.ferry.api.v1.CreateTaskResponse> getCreateTaskMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.CreateTaskRequest, dev.ferry.api.v1.CreateTaskResponse> getCreateTaskMethod;
    if ((getCreateTaskMethod = FerryServiceGrpc.getCreateTaskMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getCreateTaskMethod = FerryServiceGrpc.getCreateTaskMethod) == null) {
          FerryServiceGrpc.getCreateTaskMethod = getCreateTaskMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.CreateTaskRequest, dev.ferry.api.v1.CreateTaskResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateTask"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.CreateTaskRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.CreateTaskResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("CreateTask"))
              .build();
        }
      }
    }
    return getCreateTaskMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.UploadPartsRequest,
      dev.ferry.api.v1.UploadPartsResponse> getUploadPartsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UploadParts",
      requestType = dev.ferry.api.v1.UploadPartsRequest.class,
      responseType = dev.ferry.api.v1.UploadPartsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.UploadPartsRequest,
      dev.ferry.api.v1.UploadPartsResponse> getUploadPartsMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.UploadPartsRequest, dev.ferry.api.v1.UploadPartsResponse> getUploadPartsMethod;
    if ((getUploadPartsMethod = FerryServiceGrpc.getUploadPartsMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getUploadPartsMethod = FerryServiceGrpc.getUploadPartsMethod) == null) {
          FerryServiceGrpc.getUploadPartsMethod = getUploadPartsMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.UploadPartsRequest, dev.ferry.api.v1.UploadPartsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UploadParts"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.UploadPartsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.UploadPartsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("UploadParts"))
              .build();
        }
      }
    }
    return getUploadPartsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.QueryMissingBlocksRequest,
      dev.ferry.api.v1.QueryMissingBlocksResponse> getQueryMissingBlocksMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "QueryMissingBlocks",
      requestType = dev.ferry.api.v1.QueryMissingBlocksRequest.class,
      responseType = dev.ferry.api.v1.QueryMissingBlocksResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.QueryMissingBlocksRequest,
      dev.ferry.api.v1.QueryMissingBlocksResponse> getQueryMissingBlocksMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.QueryMissingBlocksRequest, dev.ferry.api.v1.QueryMissingBlocksResponse> getQueryMissingBlocksMethod;
    if ((getQueryMissingBlocksMethod = FerryServiceGrpc.getQueryMissingBlocksMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getQueryMissingBlocksMethod = FerryServiceGrpc.getQueryMissingBlocksMethod) == null) {
          FerryServiceGrpc.getQueryMissingBlocksMethod = getQueryMissingBlocksMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.QueryMissingBlocksRequest, dev.ferry.api.v1.QueryMissingBlocksResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "QueryMissingBlocks"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.QueryMissingBlocksRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.QueryMissingBlocksResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("QueryMissingBlocks"))
              .build();
        }
      }
    }
    return getQueryMissingBlocksMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.SetStateRequest,
      dev.ferry.api.v1.SetStateResponse> getSetStateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SetState",
      requestType = dev.ferry.api.v1.SetStateRequest.class,
      responseType = dev.ferry.api.v1.SetStateResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.SetStateRequest,
      dev.ferry.api.v1.SetStateResponse> getSetStateMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.SetStateRequest, dev.ferry.api.v1.SetStateResponse> getSetStateMethod;
    if ((getSetStateMethod = FerryServiceGrpc.getSetStateMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getSetStateMethod = FerryServiceGrpc.getSetStateMethod) == null) {
          FerryServiceGrpc.getSetStateMethod = getSetStateMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.SetStateRequest, dev.ferry.api.v1.SetStateResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SetState"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.SetStateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.SetStateResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("SetState"))
              .build();
        }
      }
    }
    return getSetStateMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.MergeRequest,
      dev.ferry.api.v1.MergeResponse> getMergeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Merge",
      requestType = dev.ferry.api.v1.MergeRequest.class,
      responseType = dev.ferry.api.v1.MergeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.MergeRequest,
      dev.ferry.api.v1.MergeResponse> getMergeMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.MergeRequest, dev.ferry.api.v1.MergeResponse> getMergeMethod;
    if ((getMergeMethod = FerryServiceGrpc.getMergeMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getMergeMethod = FerryServiceGrpc.getMergeMethod) == null) {
          FerryServiceGrpc.getMergeMethod = getMergeMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.MergeRequest, dev.ferry.api.v1.MergeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Merge"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.MergeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.MergeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("Merge"))
              .build();
        }
      }
    }
    return getMergeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.GetTaskRequest,
      dev.ferry.api.v1.GetTaskResponse> getGetTaskMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetTask",
      requestType = dev.ferry.api.v1.GetTaskRequest.class,
      responseType = dev.ferry.api.v1.GetTaskResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.GetTaskRequest,
      dev.ferry.api.v1.GetTaskResponse> getGetTaskMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.GetTaskRequest, dev.ferry.api.v1.GetTaskResponse> getGetTaskMethod;
    if ((getGetTaskMethod = FerryServiceGrpc.getGetTaskMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getGetTaskMethod = FerryServiceGrpc.getGetTaskMethod) == null) {
          FerryServiceGrpc.getGetTaskMethod = getGetTaskMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.GetTaskRequest, dev.ferry.api.v1.GetTaskResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetTask"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.GetTaskRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.GetTaskResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("GetTask"))
              .build();
        }
      }
    }
    return getGetTaskMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.WatchTaskRequest,
      dev.ferry.api.v1.WatchTaskResponse> getWatchTaskMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "WatchTask",
      requestType = dev.ferry.api.v1.WatchTaskRequest.class,
      responseType = dev.ferry.api.v1.WatchTaskResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.WatchTaskRequest,
      dev.ferry.api.v1.WatchTaskResponse> getWatchTaskMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.WatchTaskRequest, dev.ferry.api.v1.WatchTaskResponse> getWatchTaskMethod;
    if ((getWatchTaskMethod = FerryServiceGrpc.getWatchTaskMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getWatchTaskMethod = FerryServiceGrpc.getWatchTaskMethod) == null) {
          FerryServiceGrpc.getWatchTaskMethod = getWatchTaskMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.WatchTaskRequest, dev.ferry.api.v1.WatchTaskResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "WatchTask"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.WatchTaskRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.WatchTaskResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("WatchTask"))
              .build();
        }
      }
    }
    return getWatchTaskMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.ReadFileRequest,
      dev.ferry.api.v1.ReadFileResponse> getReadFileMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ReadFile",
      requestType = dev.ferry.api.v1.ReadFileRequest.class,
      responseType = dev.ferry.api.v1.ReadFileResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.ReadFileRequest,
      dev.ferry.api.v1.ReadFileResponse> getReadFileMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.ReadFileRequest, dev.ferry.api.v1.ReadFileResponse> getReadFileMethod;
    if ((getReadFileMethod = FerryServiceGrpc.getReadFileMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getReadFileMethod = FerryServiceGrpc.getReadFileMethod) == null) {
          FerryServiceGrpc.getReadFileMethod = getReadFileMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.ReadFileRequest, dev.ferry.api.v1.ReadFileResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ReadFile"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.ReadFileRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.ReadFileResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("ReadFile"))
              .build();
        }
      }
    }
    return getReadFileMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.UploadFileRequest,
      dev.ferry.api.v1.UploadFileResponse> getUploadFileMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UploadFile",
      requestType = dev.ferry.api.v1.UploadFileRequest.class,
      responseType = dev.ferry.api.v1.UploadFileResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.UploadFileRequest,
      dev.ferry.api.v1.UploadFileResponse> getUploadFileMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.UploadFileRequest, dev.ferry.api.v1.UploadFileResponse> getUploadFileMethod;
    if ((getUploadFileMethod = FerryServiceGrpc.getUploadFileMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getUploadFileMethod = FerryServiceGrpc.getUploadFileMethod) == null) {
          FerryServiceGrpc.getUploadFileMethod = getUploadFileMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.UploadFileRequest, dev.ferry.api.v1.UploadFileResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UploadFile"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.UploadFileRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.UploadFileResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("UploadFile"))
              .build();
        }
      }
    }
    return getUploadFileMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.IssueUploadTokenRequest,
      dev.ferry.api.v1.IssueUploadTokenResponse> getIssueUploadTokenMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "IssueUploadToken",
      requestType = dev.ferry.api.v1.IssueUploadTokenRequest.class,
      responseType = dev.ferry.api.v1.IssueUploadTokenResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.IssueUploadTokenRequest,
      dev.ferry.api.v1.IssueUploadTokenResponse> getIssueUploadTokenMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.IssueUploadTokenRequest, dev.ferry.api.v1.IssueUploadTokenResponse> getIssueUploadTokenMethod;
    if ((getIssueUploadTokenMethod = FerryServiceGrpc.getIssueUploadTokenMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getIssueUploadTokenMethod = FerryServiceGrpc.getIssueUploadTokenMethod) == null) {
          FerryServiceGrpc.getIssueUploadTokenMethod = getIssueUploadTokenMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.IssueUploadTokenRequest, dev.ferry.api.v1.IssueUploadTokenResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "IssueUploadToken"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.IssueUploadTokenRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.IssueUploadTokenResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("IssueUploadToken"))
              .build();
        }
      }
    }
    return getIssueUploadTokenMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.ListTasksRequest,
      dev.ferry.api.v1.ListTasksResponse> getListTasksMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListTasks",
      requestType = dev.ferry.api.v1.ListTasksRequest.class,
      responseType = dev.ferry.api.v1.ListTasksResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.ListTasksRequest,
      dev.ferry.api.v1.ListTasksResponse> getListTasksMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.ListTasksRequest, dev.ferry.api.v1.ListTasksResponse> getListTasksMethod;
    if ((getListTasksMethod = FerryServiceGrpc.getListTasksMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getListTasksMethod = FerryServiceGrpc.getListTasksMethod) == null) {
          FerryServiceGrpc.getListTasksMethod = getListTasksMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.ListTasksRequest, dev.ferry.api.v1.ListTasksResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListTasks"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.ListTasksRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.ListTasksResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("ListTasks"))
              .build();
        }
      }
    }
    return getListTasksMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.ferry.api.v1.GetStatsRequest,
      dev.ferry.api.v1.GetStatsResponse> getGetStatsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetStats",
      requestType = dev.ferry.api.v1.GetStatsRequest.class,
      responseType = dev.ferry.api.v1.GetStatsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.ferry.api.v1.GetStatsRequest,
      dev.ferry.api.v1.GetStatsResponse> getGetStatsMethod() {
    io.grpc.MethodDescriptor<dev.ferry.api.v1.GetStatsRequest, dev.ferry.api.v1.GetStatsResponse> getGetStatsMethod;
    if ((getGetStatsMethod = FerryServiceGrpc.getGetStatsMethod) == null) {
      synchronized (FerryServiceGrpc.class) {
        if ((getGetStatsMethod = FerryServiceGrpc.getGetStatsMethod) == null) {
          FerryServiceGrpc.getGetStatsMethod = getGetStatsMethod =
              io.grpc.MethodDescriptor.<dev.ferry.api.v1.GetStatsRequest, dev.ferry.api.v1.GetStatsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetStats"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.GetStatsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.ferry.api.v1.GetStatsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new FerryServiceMethodDescriptorSupplier("GetStats"))
              .build();
        }
      }
    }
    return getGetStatsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static FerryServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<FerryServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<FerryServiceStub>() {
        @java.lang.Override
        public FerryServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new FerryServiceStub(channel, callOptions);
        }
      };
    return FerryServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static FerryServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<FerryServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<FerryServiceBlockingStub>() {
        @java.lang.Override
        public FerryServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new FerryServiceBlockingStub(channel, callOptions);
        }
      };
    return FerryServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static FerryServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<FerryServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<FerryServiceFutureStub>() {
        @java.lang.Override
        public FerryServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new FerryServiceFutureStub(channel, callOptions);
        }
      };
    return FerryServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * The Ferry file transfer service.
   * </pre>
   */
  public static abstract class FerryServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * Declares a file to receive, or resumes the task already receiving it.
     * Declaring the same (size, sha256, store_path) again, by the same
     * principal, while its task is UPLOADING or PAUSED returns that task with
     * `resumed` set. A declaration without sha256 never resumes (it would not
     * say which file it is): such a task is resumed by its task_id. Nothing is
     * written when the request is rejected.
     * Status codes (reasons):
     * - OK: the task was created or resumed.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH): bad store_path (empty,
     *   absolute, not normalised, "..", control characters, a backslash, too
     *   long, naming a directory, escaping the storage root through a
     *   symlink).
     * - INVALID_ARGUMENT (INVALID_BLOCK_SIZE): a block_size outside the
     *   server's bounds or not a multiple of 64 KiB.
     * - INVALID_ARGUMENT (INVALID_FIELD): malformed sha256, an empty, too long
     *   or control-character file_name, oversized metadata, a size with
     *   size_deferred, a max_size without it.
     * - OUT_OF_RANGE (FILE_TOO_LARGE): size (or, with size_deferred, max_size)
     *   exceeds the server's maximum file size.
     * - ALREADY_EXISTS (STORE_PATH_TAKEN): another active task targets the
     *   same store_path (for another file, or declared without sha256 or with
     *   size_deferred).
     * - ALREADY_EXISTS (DESTINATION_EXISTS): a file exists at store_path and
     *   `overwrite` is false.
     * - RESOURCE_EXHAUSTED (DISK_FULL): not enough disk space to stage the
     *   file (its max_size, when its size is deferred).
     * - ABORTED (BUSY): the same store_path is being declared concurrently.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "create"
     *   permission (an upload token never has it), store_path lies outside its
     *   prefixes (checked before anything is looked up), or `overwrite` without
     *   the "overwrite" permission.
     * ALREADY_EXISTS (STORE_PATH_TAKEN) for another principal's task names no
     * task (no ResourceInfo, no `ferry-task-id` trailer).
     * </pre>
     */
    public void createTask(dev.ferry.api.v1.CreateTaskRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.CreateTaskResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateTaskMethod(), responseObserver);
    }

    /**
     * <pre>
     * Streams block data. Each client message carries a piece of one block;
     * the server answers with one UploadPartsResponse per completed block, sent
     * only after the block is durable (written, fsynced, recorded in SQL).
     * Rules: within one stream a block's bytes arrive in order and
     * contiguously, starting at offset 0; the message that completes the block
     * carries the CRC32C of the whole block. Different streams may carry
     * different blocks of the same task at once. A block whose CRC32C does not
     * match is answered with BLOCK_STATUS_CHECKSUM_MISMATCH and is not
     * committed; the stream goes on. Re-sending a committed block is a no-op
     * answered with BLOCK_STATUS_COMMITTED, or BLOCK_STATUS_COMMITTED_DIFFERENT
     * if its bytes differ from the committed ones. Several streams (on one
     * replica or several) may send the same block at once: each writes its own
     * copy, the first to commit wins, none waits for another.
     * Status codes (reasons) that end the stream (committed blocks stay
     * committed; a block in progress is dropped and stays missing):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): missing task_id, or the block's last
     *   message without crc32c.
     * - INVALID_ARGUMENT (WRONG_OFFSET): an offset not where the block left
     *   off (a block starts at offset 0).
     * - INVALID_ARGUMENT (BLOCK_NOT_FINISHED): a new block started before the
     *   previous one was complete.
     * - INVALID_ARGUMENT (DATA_TOO_LARGE): data larger than 1 MiB in one
     *   message.
     * - INVALID_ARGUMENT (MALFORMED_MESSAGE): a message that cannot be parsed.
     * - OUT_OF_RANGE (BLOCK_OUT_OF_RANGE): block_index &gt;= block_count.
     * - OUT_OF_RANGE (DATA_PAST_BLOCK_END): data past the block's end.
     *   For a task whose size is deferred, a block ends at the message that
     *   carries crc32c, or at block_size bytes.
     * - FAILED_PRECONDITION (TASK_PAUSED): the task is PAUSED; resume it.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is canceled,
     *   expired, completed or failed. A pause or cancel on any replica stops
     *   the stream within one block.
     * - RESOURCE_EXHAUSTED (DISK_FULL): the disk is full; retry after
     *   RetryInfo's delay.
     * - RESOURCE_EXHAUSTED (no details, from the gRPC runtime): a message
     *   larger than the transport limit (2 MiB).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "upload"
     *   permission.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.ferry.api.v1.UploadPartsRequest> uploadParts(
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.UploadPartsResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getUploadPartsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Reports which blocks the server still lacks, as half-open ranges, one page
     * at a time (AIP-158): follow next_page_token until it is empty. For a
     * task that stays UPLOADING or PAUSED the missing set only shrinks. Asked
     * with include_committed_crc32c, it also lists committed blocks' CRC32C,
     * 4096 at a time, so a client can prove a task holds its file's bytes.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, a negative page_size,
     *   or a page_token this server did not issue for this task.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "upload" nor the "read" permission.
     * </pre>
     */
    public void queryMissingBlocks(dev.ferry.api.v1.QueryMissingBlocksRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.QueryMissingBlocksResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getQueryMissingBlocksMethod(), responseObserver);
    }

    /**
     * <pre>
     * Pauses, resumes or cancels a task. Setting the state a task is already in
     * is a no-op. Canceling deletes the staged bytes.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, or a target state
     *   other than UPLOADING, PAUSED or CANCELED.
     * - FAILED_PRECONDITION (ILLEGAL_TRANSITION): an illegal transition (e.g.
     *   pausing a COMPLETED task).
     * - FAILED_PRECONDITION (TASK_MERGING): the task is being merged.
     * - ABORTED (BUSY): the task's state changed concurrently, again and
     *   again; retry.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "control" nor the "operator" permission (an upload token has neither).
     * </pre>
     */
    public void setState(dev.ferry.api.v1.SetStateRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.SetStateResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSetStateMethod(), responseObserver);
    }

    /**
     * <pre>
     * Verifies and publishes the file: every block must be committed, the
     * whole-file SHA-256 must match the declared one (if declared); the file is
     * then made durable and renamed atomically to store_path. Idempotent: a
     * Merge of a COMPLETED task returns the same result again. When several
     * replicas are asked to merge the same task at once, one publishes and all
     * answer with the same result.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, a malformed sha256.
     * - INVALID_ARGUMENT (SHA256_CONFLICT): a sha256 that differs from the
     *   one declared at CreateTask.
     * - INVALID_ARGUMENT (INVALID_FIELD, field "size"): no size for a task
     *   whose size is deferred.
     * - INVALID_ARGUMENT (SIZE_MISMATCH): a size the committed blocks do not
     *   add up to, or that differs from the task's known size.
     * - OUT_OF_RANGE (FILE_TOO_LARGE): a size beyond the task's max_size.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH): store_path now escapes the
     *   storage root (a symlink was created after the task).
     * - FAILED_PRECONDITION (BLOCKS_MISSING): blocks are missing; the message
     *   and a PreconditionFailure name the missing ranges.
     * - FAILED_PRECONDITION (TASK_PAUSED): the task is PAUSED.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is CANCELED or
     *   EXPIRED.
     * - FAILED_PRECONDITION (STAGING_LOST): the staged bytes were removed
     *   outside Ferry.
     * - DATA_LOSS (HASH_MISMATCH): the whole-file SHA-256 does not match the
     *   declared one; the task is now FAILED and its staged bytes are deleted.
     * - DATA_LOSS (TASK_FAILED): the task is FAILED (an earlier Merge found the
     *   mismatch).
     * - ALREADY_EXISTS (DESTINATION_EXISTS): a file appeared at store_path and
     *   overwrite is false.
     * - ABORTED (MERGE_IN_PROGRESS): another call or replica is merging this
     *   task and did not finish within the call's deadline; retry after
     *   RetryInfo's delay.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "upload"
     *   permission.
     * </pre>
     */
    public void merge(dev.ferry.api.v1.MergeRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.MergeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getMergeMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns a task.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission.
     * </pre>
     */
    public void getTask(dev.ferry.api.v1.GetTaskRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.GetTaskResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetTaskMethod(), responseObserver);
    }

    /**
     * <pre>
     * Streams a task whenever its state or committed bytes change, whichever
     * replica the change happened on (each replica polls the database for the
     * tasks watched through it, every --watch-interval), starting with the task
     * as it is now; the stream ends once the task is COMPLETED, FAILED,
     * CANCELED or EXPIRED. For callers that would rather wait on gRPC than run
     * a webhook receiver.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id, or the task was forgotten
     *   (retention) while watched.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - UNAVAILABLE: the replica is shutting down; watch again.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission. Another principal's task is
     *   NOT_FOUND (TASK_NOT_FOUND) unless the caller is an operator.
     * </pre>
     */
    public void watchTask(dev.ferry.api.v1.WatchTaskRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.WatchTaskResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWatchTaskMethod(), responseObserver);
    }

    /**
     * <pre>
     * Reads a published file back: by store_path (its current generation) or by
     * the task_id that published it, from an offset, for a length or to the end.
     * The first message names the file's generation (the task that published it
     * and its SHA-256); every message carries its offset and its data's CRC32C.
     * A reader cut off resumes with if_generation set to the generation it
     * began, so that it never splices two versions of a file.
     * Status codes (reasons):
     * - NOT_FOUND (FILE_NOT_FOUND): nothing of the caller's is published at
     *   store_path.
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - FAILED_PRECONDITION (GENERATION_CHANGED): the file is no longer the
     *   generation asked for (if_generation, or task_id's upload was replaced).
     * - FAILED_PRECONDITION (ILLEGAL_TRANSITION): task_id's task is not
     *   COMPLETED.
     * - OUT_OF_RANGE (INVALID_FIELD): offset past the end of the file.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH, INVALID_FIELD): a bad store_path,
     *   neither or both of store_path and task_id.
     * - DATA_LOSS (INTEGRITY_FAILURE): the file on disk is not the one recorded
     *   (changed outside Ferry).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "read"
     *   permission, or store_path lies outside its prefixes (checked before
     *   anything is looked up).
     * A file whose current version another principal published reads as
     * NOT_FOUND (FILE_NOT_FOUND), exactly as no file.
     * </pre>
     */
    public void readFile(dev.ferry.api.v1.ReadFileRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.ReadFileResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getReadFileMethod(), responseObserver);
    }

    /**
     * <pre>
     * Uploads a small file (at most 1 MiB) in one round trip: declares it, checks
     * its CRC32C and SHA-256, publishes it atomically and returns the COMPLETED
     * task, as CreateTask + UploadParts + Merge would. Idempotent: when the same
     * bytes are already published at store_path (a call whose reply was lost, or
     * the same file sent again), the call publishes nothing and returns the task
     * that published them, with `resumed` set. (A large file sent again through
     * CreateTask meets ALREADY_EXISTS instead, as its bytes are not known yet.)
     * Status codes (reasons):
     * - OK: the file is published; the task is COMPLETED.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH, INVALID_FIELD): as for
     *   CreateTask.
     * - INVALID_ARGUMENT (INVALID_FIELD, field "crc32c"): crc32c is not set.
     * - INVALID_ARGUMENT (DATA_TOO_LARGE): data larger than 1 MiB.
     * - ABORTED (CHECKSUM_MISMATCH): the data does not match its CRC32C
     *   (corrupted in transit): nothing was written; send it again.
     * - DATA_LOSS (HASH_MISMATCH): the data does not match the declared
     *   SHA-256: nothing was published.
     * - ALREADY_EXISTS (STORE_PATH_TAKEN): an active task targets store_path.
     * - ALREADY_EXISTS (DESTINATION_EXISTS): another file exists there and
     *   overwrite is false.
     * - RESOURCE_EXHAUSTED (DISK_FULL): not enough disk space.
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for CreateTask, checked
     *   before anything is looked up, so the call tells nothing about paths
     *   outside the caller's prefixes.
     * - INVALID_ARGUMENT, PERMISSION_DENIED (WEBHOOK_URL_REFUSED): as for
     *   CreateTask.
     * </pre>
     */
    public void uploadFile(dev.ferry.api.v1.UploadFileRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.UploadFileResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUploadFileMethod(), responseObserver);
    }

    /**
     * <pre>
     * Issues a new upload token for one of the caller's UPLOADING or PAUSED
     * tasks (for an upload that outlives its first token). Earlier tokens stay
     * valid until they expire.
     * Status codes (reasons):
     * - OK: `upload_token` is valid until `expire_time`.
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id (or another principal's).
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is COMPLETED,
     *   CANCELED, EXPIRED or FAILED.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "create"
     *   permission, or is itself an upload token.
     * </pre>
     */
    public void issueUploadToken(dev.ferry.api.v1.IssueUploadTokenRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.IssueUploadTokenResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getIssueUploadTokenMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the caller's tasks, newest first unless order_by says otherwise, one
     * page at a time (AIP-158): follow next_page_token until it is empty. Pages
     * are keyset pages, so tasks created meanwhile never shift a listing in
     * progress (newest first, they appear only in a new listing). An operator
     * may list every principal's tasks with all_principals. committed_bytes is
     * exact for every entry, as in GetTask.
     * Status codes (reasons):
     * - INVALID_ARGUMENT (INVALID_FIELD): a negative page_size, an unknown
     *   order_by, an unspecified state, a metadata filter without "=", a
     *   created_after not before created_before, control characters in a
     *   filter, or a page_token this server did not issue for the same filters
     *   and order (the message says which field).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission (an upload token lists nothing),
     *   or asked for all_principals without "operator".
     * </pre>
     */
    public void listTasks(dev.ferry.api.v1.ListTasksRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.ListTasksResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListTasksMethod(), responseObserver);
    }

    /**
     * <pre>
     * Counts the caller's tasks by state, with the bytes they hold: staged
     * (committed blocks of UPLOADING and PAUSED tasks) and published (sizes of
     * COMPLETED tasks whose rows retention has not yet removed). An operator may
     * ask for every principal's with all_principals.
     * Status codes (reasons):
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for ListTasks.
     * </pre>
     */
    public void getStats(dev.ferry.api.v1.GetStatsRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.GetStatsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetStatsMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getCreateTaskMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.ferry.api.v1.CreateTaskRequest,
                dev.ferry.api.v1.CreateTaskResponse>(
                  this, METHODID_CREATE_TASK)))
          .addMethod(
            getUploadPartsMethod(),
            io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
              new MethodHandlers<
                dev.ferry.api.v1.UploadPartsRequest,
                dev.ferry.api.v1.UploadPartsResponse>(
                  this, METHODID_UPLOAD_PARTS)))
          .addMethod(
            getQueryMissingBlocksMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.ferry.api.v1.QueryMissingBlocksRequest,
                dev.ferry.api.v1.QueryMissingBlocksResponse>(
                  this, METHODID_QUERY_MISSING_BLOCKS)))
          .addMethod(
            getSetStateMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.ferry.api.v1.SetStateRequest,
                dev.ferry.api.v1.SetStateResponse>(
                  this, METHODID_SET_STATE)))
          .addMethod(
            getMergeMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.ferry.api.v1.MergeRequest,
                dev.ferry.api.v1.MergeResponse>(
                  this, METHODID_MERGE)))
          .addMethod(
            getGetTaskMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.ferry.api.v1.GetTaskRequest,
                dev.ferry.api.v1.GetTaskResponse>(
                  this, METHODID_GET_TASK)))
          .addMethod(
            getWatchTaskMethod(),
            io.grpc.stub.ServerCalls.asyncServerStreamingCall(
              new MethodHandlers<
                dev.ferry.api.v1.WatchTaskRequest,
                dev.ferry.api.v1.WatchTaskResponse>(
                  this, METHODID_WATCH_TASK)))
          .addMethod(
            getReadFileMethod(),
            io.grpc.stub.ServerCalls.asyncServerStreamingCall(
              new MethodHandlers<
                dev.ferry.api.v1.ReadFileRequest,
                dev.ferry.api.v1.ReadFileResponse>(
                  this, METHODID_READ_FILE)))
          .addMethod(
            getUploadFileMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.ferry.api.v1.UploadFileRequest,
                dev.ferry.api.v1.UploadFileResponse>(
                  this, METHODID_UPLOAD_FILE)))
          .addMethod(
            getIssueUploadTokenMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.ferry.api.v1.IssueUploadTokenRequest,
                dev.ferry.api.v1.IssueUploadTokenResponse>(
                  this, METHODID_ISSUE_UPLOAD_TOKEN)))
          .addMethod(
            getListTasksMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.ferry.api.v1.ListTasksRequest,
                dev.ferry.api.v1.ListTasksResponse>(
                  this, METHODID_LIST_TASKS)))
          .addMethod(
            getGetStatsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.ferry.api.v1.GetStatsRequest,
                dev.ferry.api.v1.GetStatsResponse>(
                  this, METHODID_GET_STATS)))
          .build();
    }
  }

  /**
   * <pre>
   * The Ferry file transfer service.
   * </pre>
   */
  public static final class FerryServiceStub extends io.grpc.stub.AbstractAsyncStub<FerryServiceStub> {
    private FerryServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected FerryServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new FerryServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Declares a file to receive, or resumes the task already receiving it.
     * Declaring the same (size, sha256, store_path) again, by the same
     * principal, while its task is UPLOADING or PAUSED returns that task with
     * `resumed` set. A declaration without sha256 never resumes (it would not
     * say which file it is): such a task is resumed by its task_id. Nothing is
     * written when the request is rejected.
     * Status codes (reasons):
     * - OK: the task was created or resumed.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH): bad store_path (empty,
     *   absolute, not normalised, "..", control characters, a backslash, too
     *   long, naming a directory, escaping the storage root through a
     *   symlink).
     * - INVALID_ARGUMENT (INVALID_BLOCK_SIZE): a block_size outside the
     *   server's bounds or not a multiple of 64 KiB.
     * - INVALID_ARGUMENT (INVALID_FIELD): malformed sha256, an empty, too long
     *   or control-character file_name, oversized metadata, a size with
     *   size_deferred, a max_size without it.
     * - OUT_OF_RANGE (FILE_TOO_LARGE): size (or, with size_deferred, max_size)
     *   exceeds the server's maximum file size.
     * - ALREADY_EXISTS (STORE_PATH_TAKEN): another active task targets the
     *   same store_path (for another file, or declared without sha256 or with
     *   size_deferred).
     * - ALREADY_EXISTS (DESTINATION_EXISTS): a file exists at store_path and
     *   `overwrite` is false.
     * - RESOURCE_EXHAUSTED (DISK_FULL): not enough disk space to stage the
     *   file (its max_size, when its size is deferred).
     * - ABORTED (BUSY): the same store_path is being declared concurrently.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "create"
     *   permission (an upload token never has it), store_path lies outside its
     *   prefixes (checked before anything is looked up), or `overwrite` without
     *   the "overwrite" permission.
     * ALREADY_EXISTS (STORE_PATH_TAKEN) for another principal's task names no
     * task (no ResourceInfo, no `ferry-task-id` trailer).
     * </pre>
     */
    public void createTask(dev.ferry.api.v1.CreateTaskRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.CreateTaskResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateTaskMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Streams block data. Each client message carries a piece of one block;
     * the server answers with one UploadPartsResponse per completed block, sent
     * only after the block is durable (written, fsynced, recorded in SQL).
     * Rules: within one stream a block's bytes arrive in order and
     * contiguously, starting at offset 0; the message that completes the block
     * carries the CRC32C of the whole block. Different streams may carry
     * different blocks of the same task at once. A block whose CRC32C does not
     * match is answered with BLOCK_STATUS_CHECKSUM_MISMATCH and is not
     * committed; the stream goes on. Re-sending a committed block is a no-op
     * answered with BLOCK_STATUS_COMMITTED, or BLOCK_STATUS_COMMITTED_DIFFERENT
     * if its bytes differ from the committed ones. Several streams (on one
     * replica or several) may send the same block at once: each writes its own
     * copy, the first to commit wins, none waits for another.
     * Status codes (reasons) that end the stream (committed blocks stay
     * committed; a block in progress is dropped and stays missing):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): missing task_id, or the block's last
     *   message without crc32c.
     * - INVALID_ARGUMENT (WRONG_OFFSET): an offset not where the block left
     *   off (a block starts at offset 0).
     * - INVALID_ARGUMENT (BLOCK_NOT_FINISHED): a new block started before the
     *   previous one was complete.
     * - INVALID_ARGUMENT (DATA_TOO_LARGE): data larger than 1 MiB in one
     *   message.
     * - INVALID_ARGUMENT (MALFORMED_MESSAGE): a message that cannot be parsed.
     * - OUT_OF_RANGE (BLOCK_OUT_OF_RANGE): block_index &gt;= block_count.
     * - OUT_OF_RANGE (DATA_PAST_BLOCK_END): data past the block's end.
     *   For a task whose size is deferred, a block ends at the message that
     *   carries crc32c, or at block_size bytes.
     * - FAILED_PRECONDITION (TASK_PAUSED): the task is PAUSED; resume it.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is canceled,
     *   expired, completed or failed. A pause or cancel on any replica stops
     *   the stream within one block.
     * - RESOURCE_EXHAUSTED (DISK_FULL): the disk is full; retry after
     *   RetryInfo's delay.
     * - RESOURCE_EXHAUSTED (no details, from the gRPC runtime): a message
     *   larger than the transport limit (2 MiB).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "upload"
     *   permission.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.ferry.api.v1.UploadPartsRequest> uploadParts(
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.UploadPartsResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getUploadPartsMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * Reports which blocks the server still lacks, as half-open ranges, one page
     * at a time (AIP-158): follow next_page_token until it is empty. For a
     * task that stays UPLOADING or PAUSED the missing set only shrinks. Asked
     * with include_committed_crc32c, it also lists committed blocks' CRC32C,
     * 4096 at a time, so a client can prove a task holds its file's bytes.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, a negative page_size,
     *   or a page_token this server did not issue for this task.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "upload" nor the "read" permission.
     * </pre>
     */
    public void queryMissingBlocks(dev.ferry.api.v1.QueryMissingBlocksRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.QueryMissingBlocksResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getQueryMissingBlocksMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Pauses, resumes or cancels a task. Setting the state a task is already in
     * is a no-op. Canceling deletes the staged bytes.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, or a target state
     *   other than UPLOADING, PAUSED or CANCELED.
     * - FAILED_PRECONDITION (ILLEGAL_TRANSITION): an illegal transition (e.g.
     *   pausing a COMPLETED task).
     * - FAILED_PRECONDITION (TASK_MERGING): the task is being merged.
     * - ABORTED (BUSY): the task's state changed concurrently, again and
     *   again; retry.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "control" nor the "operator" permission (an upload token has neither).
     * </pre>
     */
    public void setState(dev.ferry.api.v1.SetStateRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.SetStateResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSetStateMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Verifies and publishes the file: every block must be committed, the
     * whole-file SHA-256 must match the declared one (if declared); the file is
     * then made durable and renamed atomically to store_path. Idempotent: a
     * Merge of a COMPLETED task returns the same result again. When several
     * replicas are asked to merge the same task at once, one publishes and all
     * answer with the same result.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, a malformed sha256.
     * - INVALID_ARGUMENT (SHA256_CONFLICT): a sha256 that differs from the
     *   one declared at CreateTask.
     * - INVALID_ARGUMENT (INVALID_FIELD, field "size"): no size for a task
     *   whose size is deferred.
     * - INVALID_ARGUMENT (SIZE_MISMATCH): a size the committed blocks do not
     *   add up to, or that differs from the task's known size.
     * - OUT_OF_RANGE (FILE_TOO_LARGE): a size beyond the task's max_size.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH): store_path now escapes the
     *   storage root (a symlink was created after the task).
     * - FAILED_PRECONDITION (BLOCKS_MISSING): blocks are missing; the message
     *   and a PreconditionFailure name the missing ranges.
     * - FAILED_PRECONDITION (TASK_PAUSED): the task is PAUSED.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is CANCELED or
     *   EXPIRED.
     * - FAILED_PRECONDITION (STAGING_LOST): the staged bytes were removed
     *   outside Ferry.
     * - DATA_LOSS (HASH_MISMATCH): the whole-file SHA-256 does not match the
     *   declared one; the task is now FAILED and its staged bytes are deleted.
     * - DATA_LOSS (TASK_FAILED): the task is FAILED (an earlier Merge found the
     *   mismatch).
     * - ALREADY_EXISTS (DESTINATION_EXISTS): a file appeared at store_path and
     *   overwrite is false.
     * - ABORTED (MERGE_IN_PROGRESS): another call or replica is merging this
     *   task and did not finish within the call's deadline; retry after
     *   RetryInfo's delay.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "upload"
     *   permission.
     * </pre>
     */
    public void merge(dev.ferry.api.v1.MergeRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.MergeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getMergeMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns a task.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission.
     * </pre>
     */
    public void getTask(dev.ferry.api.v1.GetTaskRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.GetTaskResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetTaskMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Streams a task whenever its state or committed bytes change, whichever
     * replica the change happened on (each replica polls the database for the
     * tasks watched through it, every --watch-interval), starting with the task
     * as it is now; the stream ends once the task is COMPLETED, FAILED,
     * CANCELED or EXPIRED. For callers that would rather wait on gRPC than run
     * a webhook receiver.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id, or the task was forgotten
     *   (retention) while watched.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - UNAVAILABLE: the replica is shutting down; watch again.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission. Another principal's task is
     *   NOT_FOUND (TASK_NOT_FOUND) unless the caller is an operator.
     * </pre>
     */
    public void watchTask(dev.ferry.api.v1.WatchTaskRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.WatchTaskResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getWatchTaskMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Reads a published file back: by store_path (its current generation) or by
     * the task_id that published it, from an offset, for a length or to the end.
     * The first message names the file's generation (the task that published it
     * and its SHA-256); every message carries its offset and its data's CRC32C.
     * A reader cut off resumes with if_generation set to the generation it
     * began, so that it never splices two versions of a file.
     * Status codes (reasons):
     * - NOT_FOUND (FILE_NOT_FOUND): nothing of the caller's is published at
     *   store_path.
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - FAILED_PRECONDITION (GENERATION_CHANGED): the file is no longer the
     *   generation asked for (if_generation, or task_id's upload was replaced).
     * - FAILED_PRECONDITION (ILLEGAL_TRANSITION): task_id's task is not
     *   COMPLETED.
     * - OUT_OF_RANGE (INVALID_FIELD): offset past the end of the file.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH, INVALID_FIELD): a bad store_path,
     *   neither or both of store_path and task_id.
     * - DATA_LOSS (INTEGRITY_FAILURE): the file on disk is not the one recorded
     *   (changed outside Ferry).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "read"
     *   permission, or store_path lies outside its prefixes (checked before
     *   anything is looked up).
     * A file whose current version another principal published reads as
     * NOT_FOUND (FILE_NOT_FOUND), exactly as no file.
     * </pre>
     */
    public void readFile(dev.ferry.api.v1.ReadFileRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.ReadFileResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getReadFileMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Uploads a small file (at most 1 MiB) in one round trip: declares it, checks
     * its CRC32C and SHA-256, publishes it atomically and returns the COMPLETED
     * task, as CreateTask + UploadParts + Merge would. Idempotent: when the same
     * bytes are already published at store_path (a call whose reply was lost, or
     * the same file sent again), the call publishes nothing and returns the task
     * that published them, with `resumed` set. (A large file sent again through
     * CreateTask meets ALREADY_EXISTS instead, as its bytes are not known yet.)
     * Status codes (reasons):
     * - OK: the file is published; the task is COMPLETED.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH, INVALID_FIELD): as for
     *   CreateTask.
     * - INVALID_ARGUMENT (INVALID_FIELD, field "crc32c"): crc32c is not set.
     * - INVALID_ARGUMENT (DATA_TOO_LARGE): data larger than 1 MiB.
     * - ABORTED (CHECKSUM_MISMATCH): the data does not match its CRC32C
     *   (corrupted in transit): nothing was written; send it again.
     * - DATA_LOSS (HASH_MISMATCH): the data does not match the declared
     *   SHA-256: nothing was published.
     * - ALREADY_EXISTS (STORE_PATH_TAKEN): an active task targets store_path.
     * - ALREADY_EXISTS (DESTINATION_EXISTS): another file exists there and
     *   overwrite is false.
     * - RESOURCE_EXHAUSTED (DISK_FULL): not enough disk space.
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for CreateTask, checked
     *   before anything is looked up, so the call tells nothing about paths
     *   outside the caller's prefixes.
     * - INVALID_ARGUMENT, PERMISSION_DENIED (WEBHOOK_URL_REFUSED): as for
     *   CreateTask.
     * </pre>
     */
    public void uploadFile(dev.ferry.api.v1.UploadFileRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.UploadFileResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUploadFileMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Issues a new upload token for one of the caller's UPLOADING or PAUSED
     * tasks (for an upload that outlives its first token). Earlier tokens stay
     * valid until they expire.
     * Status codes (reasons):
     * - OK: `upload_token` is valid until `expire_time`.
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id (or another principal's).
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is COMPLETED,
     *   CANCELED, EXPIRED or FAILED.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "create"
     *   permission, or is itself an upload token.
     * </pre>
     */
    public void issueUploadToken(dev.ferry.api.v1.IssueUploadTokenRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.IssueUploadTokenResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getIssueUploadTokenMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the caller's tasks, newest first unless order_by says otherwise, one
     * page at a time (AIP-158): follow next_page_token until it is empty. Pages
     * are keyset pages, so tasks created meanwhile never shift a listing in
     * progress (newest first, they appear only in a new listing). An operator
     * may list every principal's tasks with all_principals. committed_bytes is
     * exact for every entry, as in GetTask.
     * Status codes (reasons):
     * - INVALID_ARGUMENT (INVALID_FIELD): a negative page_size, an unknown
     *   order_by, an unspecified state, a metadata filter without "=", a
     *   created_after not before created_before, control characters in a
     *   filter, or a page_token this server did not issue for the same filters
     *   and order (the message says which field).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission (an upload token lists nothing),
     *   or asked for all_principals without "operator".
     * </pre>
     */
    public void listTasks(dev.ferry.api.v1.ListTasksRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.ListTasksResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListTasksMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Counts the caller's tasks by state, with the bytes they hold: staged
     * (committed blocks of UPLOADING and PAUSED tasks) and published (sizes of
     * COMPLETED tasks whose rows retention has not yet removed). An operator may
     * ask for every principal's with all_principals.
     * Status codes (reasons):
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for ListTasks.
     * </pre>
     */
    public void getStats(dev.ferry.api.v1.GetStatsRequest request,
        io.grpc.stub.StreamObserver<dev.ferry.api.v1.GetStatsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetStatsMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * The Ferry file transfer service.
   * </pre>
   */
  public static final class FerryServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<FerryServiceBlockingStub> {
    private FerryServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected FerryServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new FerryServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Declares a file to receive, or resumes the task already receiving it.
     * Declaring the same (size, sha256, store_path) again, by the same
     * principal, while its task is UPLOADING or PAUSED returns that task with
     * `resumed` set. A declaration without sha256 never resumes (it would not
     * say which file it is): such a task is resumed by its task_id. Nothing is
     * written when the request is rejected.
     * Status codes (reasons):
     * - OK: the task was created or resumed.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH): bad store_path (empty,
     *   absolute, not normalised, "..", control characters, a backslash, too
     *   long, naming a directory, escaping the storage root through a
     *   symlink).
     * - INVALID_ARGUMENT (INVALID_BLOCK_SIZE): a block_size outside the
     *   server's bounds or not a multiple of 64 KiB.
     * - INVALID_ARGUMENT (INVALID_FIELD): malformed sha256, an empty, too long
     *   or control-character file_name, oversized metadata, a size with
     *   size_deferred, a max_size without it.
     * - OUT_OF_RANGE (FILE_TOO_LARGE): size (or, with size_deferred, max_size)
     *   exceeds the server's maximum file size.
     * - ALREADY_EXISTS (STORE_PATH_TAKEN): another active task targets the
     *   same store_path (for another file, or declared without sha256 or with
     *   size_deferred).
     * - ALREADY_EXISTS (DESTINATION_EXISTS): a file exists at store_path and
     *   `overwrite` is false.
     * - RESOURCE_EXHAUSTED (DISK_FULL): not enough disk space to stage the
     *   file (its max_size, when its size is deferred).
     * - ABORTED (BUSY): the same store_path is being declared concurrently.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "create"
     *   permission (an upload token never has it), store_path lies outside its
     *   prefixes (checked before anything is looked up), or `overwrite` without
     *   the "overwrite" permission.
     * ALREADY_EXISTS (STORE_PATH_TAKEN) for another principal's task names no
     * task (no ResourceInfo, no `ferry-task-id` trailer).
     * </pre>
     */
    public dev.ferry.api.v1.CreateTaskResponse createTask(dev.ferry.api.v1.CreateTaskRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateTaskMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Reports which blocks the server still lacks, as half-open ranges, one page
     * at a time (AIP-158): follow next_page_token until it is empty. For a
     * task that stays UPLOADING or PAUSED the missing set only shrinks. Asked
     * with include_committed_crc32c, it also lists committed blocks' CRC32C,
     * 4096 at a time, so a client can prove a task holds its file's bytes.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, a negative page_size,
     *   or a page_token this server did not issue for this task.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "upload" nor the "read" permission.
     * </pre>
     */
    public dev.ferry.api.v1.QueryMissingBlocksResponse queryMissingBlocks(dev.ferry.api.v1.QueryMissingBlocksRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getQueryMissingBlocksMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Pauses, resumes or cancels a task. Setting the state a task is already in
     * is a no-op. Canceling deletes the staged bytes.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, or a target state
     *   other than UPLOADING, PAUSED or CANCELED.
     * - FAILED_PRECONDITION (ILLEGAL_TRANSITION): an illegal transition (e.g.
     *   pausing a COMPLETED task).
     * - FAILED_PRECONDITION (TASK_MERGING): the task is being merged.
     * - ABORTED (BUSY): the task's state changed concurrently, again and
     *   again; retry.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "control" nor the "operator" permission (an upload token has neither).
     * </pre>
     */
    public dev.ferry.api.v1.SetStateResponse setState(dev.ferry.api.v1.SetStateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSetStateMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Verifies and publishes the file: every block must be committed, the
     * whole-file SHA-256 must match the declared one (if declared); the file is
     * then made durable and renamed atomically to store_path. Idempotent: a
     * Merge of a COMPLETED task returns the same result again. When several
     * replicas are asked to merge the same task at once, one publishes and all
     * answer with the same result.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, a malformed sha256.
     * - INVALID_ARGUMENT (SHA256_CONFLICT): a sha256 that differs from the
     *   one declared at CreateTask.
     * - INVALID_ARGUMENT (INVALID_FIELD, field "size"): no size for a task
     *   whose size is deferred.
     * - INVALID_ARGUMENT (SIZE_MISMATCH): a size the committed blocks do not
     *   add up to, or that differs from the task's known size.
     * - OUT_OF_RANGE (FILE_TOO_LARGE): a size beyond the task's max_size.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH): store_path now escapes the
     *   storage root (a symlink was created after the task).
     * - FAILED_PRECONDITION (BLOCKS_MISSING): blocks are missing; the message
     *   and a PreconditionFailure name the missing ranges.
     * - FAILED_PRECONDITION (TASK_PAUSED): the task is PAUSED.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is CANCELED or
     *   EXPIRED.
     * - FAILED_PRECONDITION (STAGING_LOST): the staged bytes were removed
     *   outside Ferry.
     * - DATA_LOSS (HASH_MISMATCH): the whole-file SHA-256 does not match the
     *   declared one; the task is now FAILED and its staged bytes are deleted.
     * - DATA_LOSS (TASK_FAILED): the task is FAILED (an earlier Merge found the
     *   mismatch).
     * - ALREADY_EXISTS (DESTINATION_EXISTS): a file appeared at store_path and
     *   overwrite is false.
     * - ABORTED (MERGE_IN_PROGRESS): another call or replica is merging this
     *   task and did not finish within the call's deadline; retry after
     *   RetryInfo's delay.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "upload"
     *   permission.
     * </pre>
     */
    public dev.ferry.api.v1.MergeResponse merge(dev.ferry.api.v1.MergeRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getMergeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a task.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission.
     * </pre>
     */
    public dev.ferry.api.v1.GetTaskResponse getTask(dev.ferry.api.v1.GetTaskRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetTaskMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Streams a task whenever its state or committed bytes change, whichever
     * replica the change happened on (each replica polls the database for the
     * tasks watched through it, every --watch-interval), starting with the task
     * as it is now; the stream ends once the task is COMPLETED, FAILED,
     * CANCELED or EXPIRED. For callers that would rather wait on gRPC than run
     * a webhook receiver.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id, or the task was forgotten
     *   (retention) while watched.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - UNAVAILABLE: the replica is shutting down; watch again.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission. Another principal's task is
     *   NOT_FOUND (TASK_NOT_FOUND) unless the caller is an operator.
     * </pre>
     */
    public java.util.Iterator<dev.ferry.api.v1.WatchTaskResponse> watchTask(
        dev.ferry.api.v1.WatchTaskRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getWatchTaskMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Reads a published file back: by store_path (its current generation) or by
     * the task_id that published it, from an offset, for a length or to the end.
     * The first message names the file's generation (the task that published it
     * and its SHA-256); every message carries its offset and its data's CRC32C.
     * A reader cut off resumes with if_generation set to the generation it
     * began, so that it never splices two versions of a file.
     * Status codes (reasons):
     * - NOT_FOUND (FILE_NOT_FOUND): nothing of the caller's is published at
     *   store_path.
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - FAILED_PRECONDITION (GENERATION_CHANGED): the file is no longer the
     *   generation asked for (if_generation, or task_id's upload was replaced).
     * - FAILED_PRECONDITION (ILLEGAL_TRANSITION): task_id's task is not
     *   COMPLETED.
     * - OUT_OF_RANGE (INVALID_FIELD): offset past the end of the file.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH, INVALID_FIELD): a bad store_path,
     *   neither or both of store_path and task_id.
     * - DATA_LOSS (INTEGRITY_FAILURE): the file on disk is not the one recorded
     *   (changed outside Ferry).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "read"
     *   permission, or store_path lies outside its prefixes (checked before
     *   anything is looked up).
     * A file whose current version another principal published reads as
     * NOT_FOUND (FILE_NOT_FOUND), exactly as no file.
     * </pre>
     */
    public java.util.Iterator<dev.ferry.api.v1.ReadFileResponse> readFile(
        dev.ferry.api.v1.ReadFileRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getReadFileMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Uploads a small file (at most 1 MiB) in one round trip: declares it, checks
     * its CRC32C and SHA-256, publishes it atomically and returns the COMPLETED
     * task, as CreateTask + UploadParts + Merge would. Idempotent: when the same
     * bytes are already published at store_path (a call whose reply was lost, or
     * the same file sent again), the call publishes nothing and returns the task
     * that published them, with `resumed` set. (A large file sent again through
     * CreateTask meets ALREADY_EXISTS instead, as its bytes are not known yet.)
     * Status codes (reasons):
     * - OK: the file is published; the task is COMPLETED.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH, INVALID_FIELD): as for
     *   CreateTask.
     * - INVALID_ARGUMENT (INVALID_FIELD, field "crc32c"): crc32c is not set.
     * - INVALID_ARGUMENT (DATA_TOO_LARGE): data larger than 1 MiB.
     * - ABORTED (CHECKSUM_MISMATCH): the data does not match its CRC32C
     *   (corrupted in transit): nothing was written; send it again.
     * - DATA_LOSS (HASH_MISMATCH): the data does not match the declared
     *   SHA-256: nothing was published.
     * - ALREADY_EXISTS (STORE_PATH_TAKEN): an active task targets store_path.
     * - ALREADY_EXISTS (DESTINATION_EXISTS): another file exists there and
     *   overwrite is false.
     * - RESOURCE_EXHAUSTED (DISK_FULL): not enough disk space.
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for CreateTask, checked
     *   before anything is looked up, so the call tells nothing about paths
     *   outside the caller's prefixes.
     * - INVALID_ARGUMENT, PERMISSION_DENIED (WEBHOOK_URL_REFUSED): as for
     *   CreateTask.
     * </pre>
     */
    public dev.ferry.api.v1.UploadFileResponse uploadFile(dev.ferry.api.v1.UploadFileRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUploadFileMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Issues a new upload token for one of the caller's UPLOADING or PAUSED
     * tasks (for an upload that outlives its first token). Earlier tokens stay
     * valid until they expire.
     * Status codes (reasons):
     * - OK: `upload_token` is valid until `expire_time`.
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id (or another principal's).
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is COMPLETED,
     *   CANCELED, EXPIRED or FAILED.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "create"
     *   permission, or is itself an upload token.
     * </pre>
     */
    public dev.ferry.api.v1.IssueUploadTokenResponse issueUploadToken(dev.ferry.api.v1.IssueUploadTokenRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getIssueUploadTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the caller's tasks, newest first unless order_by says otherwise, one
     * page at a time (AIP-158): follow next_page_token until it is empty. Pages
     * are keyset pages, so tasks created meanwhile never shift a listing in
     * progress (newest first, they appear only in a new listing). An operator
     * may list every principal's tasks with all_principals. committed_bytes is
     * exact for every entry, as in GetTask.
     * Status codes (reasons):
     * - INVALID_ARGUMENT (INVALID_FIELD): a negative page_size, an unknown
     *   order_by, an unspecified state, a metadata filter without "=", a
     *   created_after not before created_before, control characters in a
     *   filter, or a page_token this server did not issue for the same filters
     *   and order (the message says which field).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission (an upload token lists nothing),
     *   or asked for all_principals without "operator".
     * </pre>
     */
    public dev.ferry.api.v1.ListTasksResponse listTasks(dev.ferry.api.v1.ListTasksRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListTasksMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Counts the caller's tasks by state, with the bytes they hold: staged
     * (committed blocks of UPLOADING and PAUSED tasks) and published (sizes of
     * COMPLETED tasks whose rows retention has not yet removed). An operator may
     * ask for every principal's with all_principals.
     * Status codes (reasons):
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for ListTasks.
     * </pre>
     */
    public dev.ferry.api.v1.GetStatsResponse getStats(dev.ferry.api.v1.GetStatsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetStatsMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * The Ferry file transfer service.
   * </pre>
   */
  public static final class FerryServiceFutureStub extends io.grpc.stub.AbstractFutureStub<FerryServiceFutureStub> {
    private FerryServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected FerryServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new FerryServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Declares a file to receive, or resumes the task already receiving it.
     * Declaring the same (size, sha256, store_path) again, by the same
     * principal, while its task is UPLOADING or PAUSED returns that task with
     * `resumed` set. A declaration without sha256 never resumes (it would not
     * say which file it is): such a task is resumed by its task_id. Nothing is
     * written when the request is rejected.
     * Status codes (reasons):
     * - OK: the task was created or resumed.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH): bad store_path (empty,
     *   absolute, not normalised, "..", control characters, a backslash, too
     *   long, naming a directory, escaping the storage root through a
     *   symlink).
     * - INVALID_ARGUMENT (INVALID_BLOCK_SIZE): a block_size outside the
     *   server's bounds or not a multiple of 64 KiB.
     * - INVALID_ARGUMENT (INVALID_FIELD): malformed sha256, an empty, too long
     *   or control-character file_name, oversized metadata, a size with
     *   size_deferred, a max_size without it.
     * - OUT_OF_RANGE (FILE_TOO_LARGE): size (or, with size_deferred, max_size)
     *   exceeds the server's maximum file size.
     * - ALREADY_EXISTS (STORE_PATH_TAKEN): another active task targets the
     *   same store_path (for another file, or declared without sha256 or with
     *   size_deferred).
     * - ALREADY_EXISTS (DESTINATION_EXISTS): a file exists at store_path and
     *   `overwrite` is false.
     * - RESOURCE_EXHAUSTED (DISK_FULL): not enough disk space to stage the
     *   file (its max_size, when its size is deferred).
     * - ABORTED (BUSY): the same store_path is being declared concurrently.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "create"
     *   permission (an upload token never has it), store_path lies outside its
     *   prefixes (checked before anything is looked up), or `overwrite` without
     *   the "overwrite" permission.
     * ALREADY_EXISTS (STORE_PATH_TAKEN) for another principal's task names no
     * task (no ResourceInfo, no `ferry-task-id` trailer).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.ferry.api.v1.CreateTaskResponse> createTask(
        dev.ferry.api.v1.CreateTaskRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateTaskMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Reports which blocks the server still lacks, as half-open ranges, one page
     * at a time (AIP-158): follow next_page_token until it is empty. For a
     * task that stays UPLOADING or PAUSED the missing set only shrinks. Asked
     * with include_committed_crc32c, it also lists committed blocks' CRC32C,
     * 4096 at a time, so a client can prove a task holds its file's bytes.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, a negative page_size,
     *   or a page_token this server did not issue for this task.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "upload" nor the "read" permission.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.ferry.api.v1.QueryMissingBlocksResponse> queryMissingBlocks(
        dev.ferry.api.v1.QueryMissingBlocksRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getQueryMissingBlocksMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Pauses, resumes or cancels a task. Setting the state a task is already in
     * is a no-op. Canceling deletes the staged bytes.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, or a target state
     *   other than UPLOADING, PAUSED or CANCELED.
     * - FAILED_PRECONDITION (ILLEGAL_TRANSITION): an illegal transition (e.g.
     *   pausing a COMPLETED task).
     * - FAILED_PRECONDITION (TASK_MERGING): the task is being merged.
     * - ABORTED (BUSY): the task's state changed concurrently, again and
     *   again; retry.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "control" nor the "operator" permission (an upload token has neither).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.ferry.api.v1.SetStateResponse> setState(
        dev.ferry.api.v1.SetStateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSetStateMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Verifies and publishes the file: every block must be committed, the
     * whole-file SHA-256 must match the declared one (if declared); the file is
     * then made durable and renamed atomically to store_path. Idempotent: a
     * Merge of a COMPLETED task returns the same result again. When several
     * replicas are asked to merge the same task at once, one publishes and all
     * answer with the same result.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id, a malformed sha256.
     * - INVALID_ARGUMENT (SHA256_CONFLICT): a sha256 that differs from the
     *   one declared at CreateTask.
     * - INVALID_ARGUMENT (INVALID_FIELD, field "size"): no size for a task
     *   whose size is deferred.
     * - INVALID_ARGUMENT (SIZE_MISMATCH): a size the committed blocks do not
     *   add up to, or that differs from the task's known size.
     * - OUT_OF_RANGE (FILE_TOO_LARGE): a size beyond the task's max_size.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH): store_path now escapes the
     *   storage root (a symlink was created after the task).
     * - FAILED_PRECONDITION (BLOCKS_MISSING): blocks are missing; the message
     *   and a PreconditionFailure name the missing ranges.
     * - FAILED_PRECONDITION (TASK_PAUSED): the task is PAUSED.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is CANCELED or
     *   EXPIRED.
     * - FAILED_PRECONDITION (STAGING_LOST): the staged bytes were removed
     *   outside Ferry.
     * - DATA_LOSS (HASH_MISMATCH): the whole-file SHA-256 does not match the
     *   declared one; the task is now FAILED and its staged bytes are deleted.
     * - DATA_LOSS (TASK_FAILED): the task is FAILED (an earlier Merge found the
     *   mismatch).
     * - ALREADY_EXISTS (DESTINATION_EXISTS): a file appeared at store_path and
     *   overwrite is false.
     * - ABORTED (MERGE_IN_PROGRESS): another call or replica is merging this
     *   task and did not finish within the call's deadline; retry after
     *   RetryInfo's delay.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "upload"
     *   permission.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.ferry.api.v1.MergeResponse> merge(
        dev.ferry.api.v1.MergeRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getMergeMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns a task.
     * Status codes (reasons):
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id.
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.ferry.api.v1.GetTaskResponse> getTask(
        dev.ferry.api.v1.GetTaskRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetTaskMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Uploads a small file (at most 1 MiB) in one round trip: declares it, checks
     * its CRC32C and SHA-256, publishes it atomically and returns the COMPLETED
     * task, as CreateTask + UploadParts + Merge would. Idempotent: when the same
     * bytes are already published at store_path (a call whose reply was lost, or
     * the same file sent again), the call publishes nothing and returns the task
     * that published them, with `resumed` set. (A large file sent again through
     * CreateTask meets ALREADY_EXISTS instead, as its bytes are not known yet.)
     * Status codes (reasons):
     * - OK: the file is published; the task is COMPLETED.
     * - INVALID_ARGUMENT (INVALID_STORE_PATH, INVALID_FIELD): as for
     *   CreateTask.
     * - INVALID_ARGUMENT (INVALID_FIELD, field "crc32c"): crc32c is not set.
     * - INVALID_ARGUMENT (DATA_TOO_LARGE): data larger than 1 MiB.
     * - ABORTED (CHECKSUM_MISMATCH): the data does not match its CRC32C
     *   (corrupted in transit): nothing was written; send it again.
     * - DATA_LOSS (HASH_MISMATCH): the data does not match the declared
     *   SHA-256: nothing was published.
     * - ALREADY_EXISTS (STORE_PATH_TAKEN): an active task targets store_path.
     * - ALREADY_EXISTS (DESTINATION_EXISTS): another file exists there and
     *   overwrite is false.
     * - RESOURCE_EXHAUSTED (DISK_FULL): not enough disk space.
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for CreateTask, checked
     *   before anything is looked up, so the call tells nothing about paths
     *   outside the caller's prefixes.
     * - INVALID_ARGUMENT, PERMISSION_DENIED (WEBHOOK_URL_REFUSED): as for
     *   CreateTask.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.ferry.api.v1.UploadFileResponse> uploadFile(
        dev.ferry.api.v1.UploadFileRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUploadFileMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Issues a new upload token for one of the caller's UPLOADING or PAUSED
     * tasks (for an upload that outlives its first token). Earlier tokens stay
     * valid until they expire.
     * Status codes (reasons):
     * - OK: `upload_token` is valid until `expire_time`.
     * - NOT_FOUND (TASK_NOT_FOUND): unknown task_id (or another principal's).
     * - INVALID_ARGUMENT (INVALID_FIELD): empty task_id.
     * - FAILED_PRECONDITION (TASK_NOT_UPLOADING): the task is COMPLETED,
     *   CANCELED, EXPIRED or FAILED.
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller lacks the "create"
     *   permission, or is itself an upload token.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.ferry.api.v1.IssueUploadTokenResponse> issueUploadToken(
        dev.ferry.api.v1.IssueUploadTokenRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getIssueUploadTokenMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the caller's tasks, newest first unless order_by says otherwise, one
     * page at a time (AIP-158): follow next_page_token until it is empty. Pages
     * are keyset pages, so tasks created meanwhile never shift a listing in
     * progress (newest first, they appear only in a new listing). An operator
     * may list every principal's tasks with all_principals. committed_bytes is
     * exact for every entry, as in GetTask.
     * Status codes (reasons):
     * - INVALID_ARGUMENT (INVALID_FIELD): a negative page_size, an unknown
     *   order_by, an unspecified state, a metadata filter without "=", a
     *   created_after not before created_before, control characters in a
     *   filter, or a page_token this server did not issue for the same filters
     *   and order (the message says which field).
     * - PERMISSION_DENIED (PERMISSION_DENIED): the caller has neither the
     *   "read" nor the "operator" permission (an upload token lists nothing),
     *   or asked for all_principals without "operator".
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.ferry.api.v1.ListTasksResponse> listTasks(
        dev.ferry.api.v1.ListTasksRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListTasksMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Counts the caller's tasks by state, with the bytes they hold: staged
     * (committed blocks of UPLOADING and PAUSED tasks) and published (sizes of
     * COMPLETED tasks whose rows retention has not yet removed). An operator may
     * ask for every principal's with all_principals.
     * Status codes (reasons):
     * - PERMISSION_DENIED (PERMISSION_DENIED): as for ListTasks.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.ferry.api.v1.GetStatsResponse> getStats(
        dev.ferry.api.v1.GetStatsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetStatsMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_TASK = 0;
  private static final int METHODID_QUERY_MISSING_BLOCKS = 1;
  private static final int METHODID_SET_STATE = 2;
  private static final int METHODID_MERGE = 3;
  private static final int METHODID_GET_TASK = 4;
  private static final int METHODID_WATCH_TASK = 5;
  private static final int METHODID_READ_FILE = 6;
  private static final int METHODID_UPLOAD_FILE = 7;
  private static final int METHODID_ISSUE_UPLOAD_TOKEN = 8;
  private static final int METHODID_LIST_TASKS = 9;
  private static final int METHODID_GET_STATS = 10;
  private static final int METHODID_UPLOAD_PARTS = 11;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final FerryServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(FerryServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CREATE_TASK:
          serviceImpl.createTask((dev.ferry.api.v1.CreateTaskRequest) request,
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.CreateTaskResponse>) responseObserver);
          break;
        case METHODID_QUERY_MISSING_BLOCKS:
          serviceImpl.queryMissingBlocks((dev.ferry.api.v1.QueryMissingBlocksRequest) request,
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.QueryMissingBlocksResponse>) responseObserver);
          break;
        case METHODID_SET_STATE:
          serviceImpl.setState((dev.ferry.api.v1.SetStateRequest) request,
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.SetStateResponse>) responseObserver);
          break;
        case METHODID_MERGE:
          serviceImpl.merge((dev.ferry.api.v1.MergeRequest) request,
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.MergeResponse>) responseObserver);
          break;
        case METHODID_GET_TASK:
          serviceImpl.getTask((dev.ferry.api.v1.GetTaskRequest) request,
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.GetTaskResponse>) responseObserver);
          break;
        case METHODID_WATCH_TASK:
          serviceImpl.watchTask((dev.ferry.api.v1.WatchTaskRequest) request,
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.WatchTaskResponse>) responseObserver);
          break;
        case METHODID_READ_FILE:
          serviceImpl.readFile((dev.ferry.api.v1.ReadFileRequest) request,
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.ReadFileResponse>) responseObserver);
          break;
        case METHODID_UPLOAD_FILE:
          serviceImpl.uploadFile((dev.ferry.api.v1.UploadFileRequest) request,
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.UploadFileResponse>) responseObserver);
          break;
        case METHODID_ISSUE_UPLOAD_TOKEN:
          serviceImpl.issueUploadToken((dev.ferry.api.v1.IssueUploadTokenRequest) request,
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.IssueUploadTokenResponse>) responseObserver);
          break;
        case METHODID_LIST_TASKS:
          serviceImpl.listTasks((dev.ferry.api.v1.ListTasksRequest) request,
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.ListTasksResponse>) responseObserver);
          break;
        case METHODID_GET_STATS:
          serviceImpl.getStats((dev.ferry.api.v1.GetStatsRequest) request,
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.GetStatsResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_UPLOAD_PARTS:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.uploadParts(
              (io.grpc.stub.StreamObserver<dev.ferry.api.v1.UploadPartsResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  private static abstract class FerryServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    FerryServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.ferry.api.v1.FerryProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("FerryService");
    }
  }

  private static final class FerryServiceFileDescriptorSupplier
      extends FerryServiceBaseDescriptorSupplier {
    FerryServiceFileDescriptorSupplier() {}
  }

  private static final class FerryServiceMethodDescriptorSupplier
      extends FerryServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    FerryServiceMethodDescriptorSupplier(String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (FerryServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new FerryServiceFileDescriptorSupplier())
              .addMethod(getCreateTaskMethod())
              .addMethod(getUploadPartsMethod())
              .addMethod(getQueryMissingBlocksMethod())
              .addMethod(getSetStateMethod())
              .addMethod(getMergeMethod())
              .addMethod(getGetTaskMethod())
              .addMethod(getWatchTaskMethod())
              .addMethod(getReadFileMethod())
              .addMethod(getUploadFileMethod())
              .addMethod(getIssueUploadTokenMethod())
              .addMethod(getListTasksMethod())
              .addMethod(getGetStatsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
